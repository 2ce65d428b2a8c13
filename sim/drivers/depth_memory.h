// DepthMemory: the HBM of a deep-book engine's level rows, for the Verilator harnesses (the bare
// engine's, harness.cpp, and the kernel's, kernel_harness.cpp) -- the C++ twin of
// fpgax.sim.drivers.axi_memory.AxiMemory. Every access takes its own latency, drawn uniformly from
// latency_lo..latency_hi cycles (from the cycle its AR -- or its AW and W both -- is taken to the
// first cycle its R or B may be offered); each ready is high with probability ready_p a cycle;
// responses keep their order; a read returns the word as it is when its AR is taken, a write lands
// on its strobed bytes when its B is taken; a word never written reads as random bits (a function
// of its address: what another run left in HBM). A burst of more than one beat or an address off a
// word's boundary is the engine's bug: exit 5.
//
// The including file defines FPGAX_DEPTH_BUS (the data bits), DEPTH(x) (the port's member x of its
// Verilated top) and die(code, message) first.

#include <cstdint>
#include <cstring>
#include <deque>
#include <random>
#include <unordered_map>
#include <vector>

static const size_t MEM_WORD_BYTES = FPGAX_DEPTH_BUS / 8;
static_assert(MEM_WORD_BYTES <= 32, "a write strobe of more than 32 bytes does not fit the harness's uint32_t");

struct MemWord {
    uint8_t bytes[MEM_WORD_BYTES];
};

static uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

// The HBM the deep book's level rows live in (see the head of this file).
struct DepthMemory {
    uint64_t latency_lo = 24, latency_hi = 48;
    double ready_p = 0.8;
    std::mt19937_64 rng;
    std::unordered_map<uint64_t, MemWord> words;
    std::deque<std::pair<uint64_t, MemWord>> r_queue;          // (due cycle, data)
    struct Write { uint64_t due, address; MemWord data; uint32_t strobe; };
    std::deque<Write> b_queue;                                  // writes in flight
    std::deque<uint64_t> aw_queue;                              // addresses waiting for their W
    std::deque<std::pair<MemWord, uint32_t>> w_queue;           // data waiting for its AW
    bool arready = false, awready = false, wready = false, r_offer = false, b_offer = false;
    uint64_t reads = 0, writes = 0, latency_max = 0;
    std::vector<uint32_t>* per_command = nullptr;   // (--mem-log) accesses by the command taken last
    const uint64_t* taken = nullptr;                  // commands taken so far
    void count() {
        if (per_command && *taken > 0) (*per_command)[*taken - 1]++;
    }

    explicit DepthMemory(uint64_t seed) : rng(seed ^ 0xD1B54A32D192ED03ULL) {}

    MemWord word(uint64_t address) {
        auto it = words.find(address);
        if (it != words.end()) return it->second;
        MemWord w;
        for (size_t i = 0; i < MEM_WORD_BYTES; i += 8) {
            uint64_t bits = splitmix64(address * 131 + i);
            memcpy(w.bytes + i, &bits, 8);
        }
        return w;
    }
    bool chance() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng) < ready_p; }
    uint64_t due(uint64_t now, uint64_t last, bool any) {
        uint64_t at = now + std::uniform_int_distribution<uint64_t>(latency_lo, latency_hi)(rng);
        return (any && at <= last) ? last + 1 : at;
    }
    bool empty() const { return r_queue.empty() && b_queue.empty() && aw_queue.empty() && w_queue.empty(); }

    // the slave's outputs for this cycle, before the engine is evaluated
    template <class Top> void drive(Top* top, uint64_t now) {
        arready = chance(), awready = chance(), wready = chance();
        top->DEPTH(arready) = arready;
        top->DEPTH(awready) = awready;
        top->DEPTH(wready) = wready;
        r_offer = !r_queue.empty() && r_queue.front().first <= now;
        top->DEPTH(rvalid) = r_offer;
        top->DEPTH(rlast) = r_offer;
        top->DEPTH(rresp) = 0;
        top->DEPTH(rid) = 0;
        if (r_offer) memcpy(top->DEPTH(rdata).data(), r_queue.front().second.bytes, MEM_WORD_BYTES);
        b_offer = !b_queue.empty() && b_queue.front().due <= now;
        top->DEPTH(bvalid) = b_offer;
        top->DEPTH(bresp) = 0;
        top->DEPTH(bid) = 0;
    }

    // the handshakes as they stand before the edge
    template <class Top> void observe(Top* top, uint64_t now) {
        bool ar = arready && top->DEPTH(arvalid), aw = awready && top->DEPTH(awvalid);
        bool w = wready && top->DEPTH(wvalid);
        bool r_taken = r_offer && top->DEPTH(rready), b_taken = b_offer && top->DEPTH(bready);
        if (ar) {
            uint64_t address = top->DEPTH(araddr);
            if (top->DEPTH(arlen) != 0) die(5, "the engine asked HBM for a read burst of more than one beat");
            if (address % MEM_WORD_BYTES) die(5, "the engine read HBM off a word's boundary");
            uint64_t at = due(now, r_queue.empty() ? 0 : r_queue.back().first, !r_queue.empty());
            latency_max = std::max(latency_max, at - now);
            r_queue.emplace_back(at, word(address));
            reads++;
            count();
        }
        if (aw) {
            uint64_t address = top->DEPTH(awaddr);
            if (top->DEPTH(awlen) != 0) die(5, "the engine wrote HBM in a burst of more than one beat");
            if (address % MEM_WORD_BYTES) die(5, "the engine wrote HBM off a word's boundary");
            aw_queue.push_back(address);
            count();
        }
        if (w) {
            std::pair<MemWord, uint32_t> data;
            memcpy(data.first.bytes, top->DEPTH(wdata).data(), MEM_WORD_BYTES);
            data.second = top->DEPTH(wstrb);
            w_queue.push_back(data);
        }
        while (!aw_queue.empty() && !w_queue.empty()) {
            uint64_t at = due(now, b_queue.empty() ? 0 : b_queue.back().due, !b_queue.empty());
            b_queue.push_back({at, aw_queue.front(), w_queue.front().first, w_queue.front().second});
            aw_queue.pop_front();
            w_queue.pop_front();
            writes++;
        }
        if (r_taken) r_queue.pop_front();
        if (b_taken) {
            Write& done = b_queue.front();
            MemWord old = word(done.address);
            for (size_t b = 0; b < MEM_WORD_BYTES; b++)
                if (done.strobe >> b & 1) old.bytes[b] = done.data.bytes[b];
            words[done.address] = old;
            b_queue.pop_front();
        }
    }
};
