"""The host layer of fpgax: one API over the card, the simulated kernel and the model."""
