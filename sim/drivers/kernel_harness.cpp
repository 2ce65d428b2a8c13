// Verilator harness for fpgax_kernel, the XRT RTL kernel: the card around it in C++ -- an AXI4-Lite
// master on s_axi_control (what XRT does with the registers) and an AXI4 memory on m_axi_gmem (the
// card's memory) -- served to the host over stdin/stdout, so no Python runs per cycle or per beat.
//
//   Vkernel MEM_BYTES [LATENCY_LOW LATENCY_HIGH READY_PERCENT SEED [DEPTH_LOW DEPTH_HIGH DEPTH_READY_PERCENT]]
//                          (then requests on stdin, replies on stdout; errors also on stderr)
//
// Requests (little-endian), each answered by a status byte (0 ok, 1 error + u32 length + text):
//   'R' u32 offset            -> u32 value           AXI-Lite read of a register
//   'W' u32 offset u32 value  ->                     AXI-Lite write
//   'M' u64 addr u64 n bytes  ->                     write card memory directly (a buffer sync)
//   'm' u64 addr u64 n        -> n bytes             read card memory directly
//   'A' u64 max_cycles        -> u64 cycles          poll CTRL every 16 cycles until ap_idle and not
//                                                    ap_start (as PYNQ waits); error after max_cycles
//   'T' u64 n                 ->                     let n cycles pass
//   'S'                       -> u64 reads, u64 writes, u64 lowest, u64 highest latency drawn
//   'D'                       -> u64 reads, u64 writes, u64 highest latency drawn: the depth's HBM
//   'Q'                       ->                     end
// The memory answers every AXI4 burst in order (beats of W wait for their AW). By default it is
// ideal: AR, AW and W always ready, a burst's first R beat the cycle after its AR, its B the cycle
// after its last W beat lands, one R beat and one B a cycle. With LATENCY_LOW..LATENCY_HIGH, each
// burst draws its own latency: its first R beat, or its B, is offered that many cycles later than the
// ideal memory's (never before the burst ahead of it), and with READY_PERCENT below
// 100 AR, AW, W each are ready in a cycle with that probability: HBM's behaviour (Shuhai, arXiv
// 2005.04324), from a seeded generator (SEED), so a run repeats. Out-of-range accesses end the run
// with exit 5.
//
// A deep-book kernel (built with -DFPGAX_DEPTH_BUS) has a second master, m_axi_hbm, for the depth's
// level rows: it is served by DepthMemory (depth_memory.h), sparse and apart from the card memory,
// every access its own latency from DEPTH_LOW..DEPTH_HIGH cycles (default 24..48, HBM's at 300
// MHz; docs/deep-book.md), each ready high with DEPTH_READY_PERCENT (default 80).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>
#include <unistd.h>

#include "Vfpgax_kernel.h"
#include "verilated.h"

static const size_t DATA_BYTES = FPGAX_DATA_BYTES;      // m_axi_gmem data width / 8, from fpgax.sim.drivers
static const uint32_t CTRL = FPGAX_CTRL_OFFSET, AP_START = FPGAX_AP_START, AP_IDLE = FPGAX_AP_IDLE;
static const int POLL_INTERVAL = 16;

template <std::size_t N> static void* raw(VlWide<N>& w) { return w.data(); }
template <class T> static void* raw(T& x) { return &x; }

static Vfpgax_kernel* top;
static std::vector<uint8_t> mem;
static uint64_t cycle = 0;

struct Burst { uint64_t addr; uint32_t beats, done; uint32_t id; uint64_t due; };
static std::deque<Burst> reads, writes;
struct Response { uint32_t id; uint64_t due; };
static std::deque<Response> responses;                     // B ids, each with the cycle it may be offered
struct Beat { std::vector<uint8_t> data; uint64_t strobe; bool last; };
static std::deque<Beat> wbeats;

// the memory's timing (the command line's), and what it drew
static uint64_t latency_low = 0, latency_high = 0, ready_percent = 100, rng_state = 1;
static uint64_t reads_served = 0, writes_served = 0, lowest_drawn = UINT64_MAX, highest_drawn = 0;

static uint64_t next_random() {                            // xorshift64*
    rng_state ^= rng_state >> 12; rng_state ^= rng_state << 25; rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint64_t draw_latency() {
    uint64_t latency = latency_low + (latency_high > latency_low ? next_random() % (latency_high - latency_low + 1) : 0);
    if (latency < lowest_drawn) lowest_drawn = latency;
    if (latency > highest_drawn) highest_drawn = latency;
    return latency;
}

static bool ready_now() { return ready_percent >= 100 || next_random() % 100 < ready_percent; }

static void die(int code, const std::string& msg) {
    fprintf(stderr, "kernel harness: %s\n", msg.c_str());
    exit(code);
}

#ifdef FPGAX_DEPTH_BUS
#define DEPTH(x) m_axi_hbm_##x
#include "depth_memory.h"
static DepthMemory* depth_memory = nullptr;
#endif

static void check_range(uint64_t addr, uint64_t n) {
    if (addr > mem.size() || n > mem.size() - addr)
        die(5, "access of " + std::to_string(n) + " bytes at " + std::to_string(addr) + " is outside the card memory");
}

// One clock cycle of the card: drive the memory's outputs, settle, note the handshakes, clock the edge,
// then act on the handshakes. The AXI-Lite master's signals are set by the caller before.
static void cycle_once() {
    bool arready = ready_now(), awready = ready_now(), wready = ready_now();
    top->m_axi_gmem_arready = arready;
    top->m_axi_gmem_awready = awready;
    top->m_axi_gmem_wready = wready;
    bool rvalid = !reads.empty() && reads.front().due <= cycle;
    top->m_axi_gmem_rvalid = rvalid;
    if (rvalid) {
        Burst& b = reads.front();
        uint64_t at = b.addr + uint64_t(b.done) * DATA_BYTES;
        check_range(at, DATA_BYTES);
        memcpy(raw(top->m_axi_gmem_rdata), mem.data() + at, DATA_BYTES);
        top->m_axi_gmem_rlast = b.done + 1 == b.beats;
        top->m_axi_gmem_rid = b.id;
        top->m_axi_gmem_rresp = 0;
    }
    bool bvalid = !responses.empty() && responses.front().due <= cycle;
    top->m_axi_gmem_bvalid = bvalid;
    if (bvalid) { top->m_axi_gmem_bid = responses.front().id; top->m_axi_gmem_bresp = 0; }
#ifdef FPGAX_DEPTH_BUS
    depth_memory->drive(top, cycle);
#endif
    top->eval();
#ifdef FPGAX_DEPTH_BUS
    depth_memory->observe(top, cycle);
#endif

    bool ar = top->m_axi_gmem_arvalid && arready, aw = top->m_axi_gmem_awvalid && awready;
    bool w = top->m_axi_gmem_wvalid && wready;
    bool r = rvalid && top->m_axi_gmem_rready, b = bvalid && top->m_axi_gmem_bready;
    Burst ar_burst{top->m_axi_gmem_araddr, uint32_t(top->m_axi_gmem_arlen) + 1, 0, uint32_t(top->m_axi_gmem_arid), 0};
    Burst aw_burst{top->m_axi_gmem_awaddr, uint32_t(top->m_axi_gmem_awlen) + 1, 0, uint32_t(top->m_axi_gmem_awid), 0};
    Beat beat;
    if (w) {
        beat.data.resize(DATA_BYTES);
        memcpy(beat.data.data(), raw(top->m_axi_gmem_wdata), DATA_BYTES);
        beat.strobe = uint64_t(top->m_axi_gmem_wstrb);
        beat.last = top->m_axi_gmem_wlast;
    }

    top->ap_clk = 1;
    top->eval();
    top->ap_clk = 0;
    top->eval();
    cycle++;

    if (ar) {                                          // (its first beat from cycle + latency, never before the burst ahead)
        ar_burst.due = cycle + draw_latency();
        if (!reads.empty() && ar_burst.due < reads.back().due) ar_burst.due = reads.back().due;
        reads.push_back(ar_burst);
        reads_served++;
    }
    if (r && ++reads.front().done == reads.front().beats) reads.pop_front();
    if (aw) writes.push_back(aw_burst);
    if (w) wbeats.push_back(beat);
    if (b) responses.pop_front();
    while (!writes.empty() && !wbeats.empty()) {       // W beats land once their burst's AW has come
        Burst& wb = writes.front();
        Beat& x = wbeats.front();
        uint64_t at = wb.addr + uint64_t(wb.done) * DATA_BYTES;
        check_range(at, DATA_BYTES);
        for (size_t i = 0; i < DATA_BYTES; i++)
            if (x.strobe >> i & 1) mem[at + i] = x.data[i];
        bool last = ++wb.done == wb.beats;
        if (last != x.last) die(6, "WLAST does not mark the last beat of the burst");
        wbeats.pop_front();
        if (last) {
            uint64_t due = cycle + draw_latency();
            if (!responses.empty() && due < responses.back().due) due = responses.back().due;
            responses.push_back(Response{wb.id, due});
            writes.pop_front();
            writes_served++;
        }
    }
}

static uint32_t lite_read(uint32_t offset) {
    top->s_axi_control_araddr = offset;
    top->s_axi_control_arvalid = 1;
    top->s_axi_control_rready = 0;
    for (;;) { top->eval(); bool fire = top->s_axi_control_arready; cycle_once(); if (fire) break; }
    top->s_axi_control_arvalid = 0;
    top->s_axi_control_rready = 1;
    for (;;) {
        top->eval();
        if (top->s_axi_control_rvalid) {
            uint32_t value = top->s_axi_control_rdata;
            cycle_once();
            top->s_axi_control_rready = 0;
            return value;
        }
        cycle_once();
    }
}

static void lite_write(uint32_t offset, uint32_t value) {
    top->s_axi_control_awaddr = offset;
    top->s_axi_control_wdata = value;
    top->s_axi_control_wstrb = 0xF;
    top->s_axi_control_awvalid = 1;
    top->s_axi_control_wvalid = 1;
    top->s_axi_control_bready = 0;
    while (top->s_axi_control_awvalid || top->s_axi_control_wvalid) {
        top->eval();
        bool aw = top->s_axi_control_awvalid && top->s_axi_control_awready;
        bool w = top->s_axi_control_wvalid && top->s_axi_control_wready;
        cycle_once();
        if (aw) top->s_axi_control_awvalid = 0;
        if (w) top->s_axi_control_wvalid = 0;
    }
    top->s_axi_control_bready = 1;
    for (;;) { top->eval(); bool fire = top->s_axi_control_bvalid; cycle_once(); if (fire) break; }
    top->s_axi_control_bready = 0;
}

// -- the request loop ---------------------------------------------------------------------------------

static void read_exact(void* p, size_t n) {
    uint8_t* b = static_cast<uint8_t*>(p);
    while (n) {
        ssize_t got = read(0, b, n);
        if (got <= 0) { top->final(); exit(0); }      // the host went away: end quietly
        b += got; n -= size_t(got);
    }
}

static void write_exact(const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    while (n) {
        ssize_t put = write(1, b, n);
        if (put <= 0) exit(0);
        b += put; n -= size_t(put);
    }
}

template <class T> static T get() { T v; read_exact(&v, sizeof v); return v; }
static void ok() { uint8_t s = 0; write_exact(&s, 1); }
static void fail(const std::string& msg) {
    uint8_t s = 1; uint32_t n = msg.size();
    write_exact(&s, 1); write_exact(&n, 4); write_exact(msg.data(), n);
}

int main(int argc, char** argv) {
    if (argc != 2 && argc != 6 && argc != 9)
        die(2, "usage: Vkernel MEM_BYTES [LATENCY_LOW LATENCY_HIGH READY_PERCENT SEED "
               "[DEPTH_LOW DEPTH_HIGH DEPTH_READY_PERCENT]]");
    mem.assign(strtoull(argv[1], nullptr, 10), 0);
    if (argc >= 6) {
        latency_low = strtoull(argv[2], nullptr, 10);
        latency_high = strtoull(argv[3], nullptr, 10);
        ready_percent = strtoull(argv[4], nullptr, 10);
        rng_state = strtoull(argv[5], nullptr, 10) | 1;
        if (latency_high < latency_low || ready_percent == 0 || ready_percent > 100)
            die(2, "LATENCY_LOW <= LATENCY_HIGH and 0 < READY_PERCENT <= 100");
    }
#ifdef FPGAX_DEPTH_BUS
    depth_memory = new DepthMemory(rng_state);
    if (argc == 9) {
        depth_memory->latency_lo = strtoull(argv[6], nullptr, 10);
        depth_memory->latency_hi = strtoull(argv[7], nullptr, 10);
        uint64_t percent = strtoull(argv[8], nullptr, 10);
        if (depth_memory->latency_hi < depth_memory->latency_lo || percent == 0 || percent > 100)
            die(2, "DEPTH_LOW <= DEPTH_HIGH and 0 < DEPTH_READY_PERCENT <= 100");
        depth_memory->ready_p = percent / 100.0;
    }
#else
    if (argc == 9) die(2, "DEPTH_LOW..: this kernel has no HBM master (not a deep-book kernel)");
#endif
    Verilated::commandArgs(argc, argv);
    top = new Vfpgax_kernel;
    top->ap_clk = 0;
    top->ap_rst_n = 0;
    for (int i = 0; i < 8; i++) cycle_once();
    top->ap_rst_n = 1;
    cycle_once();

    for (;;) {
        uint8_t op = get<uint8_t>();
        switch (op) {
        case 'R': { uint32_t off = get<uint32_t>(); uint32_t v = lite_read(off); ok(); write_exact(&v, 4); break; }
        case 'W': { uint32_t off = get<uint32_t>(); uint32_t v = get<uint32_t>(); lite_write(off, v); ok(); break; }
        case 'M': {
            uint64_t addr = get<uint64_t>(), n = get<uint64_t>();
            std::vector<uint8_t> data(n);
            read_exact(data.data(), n);
            if (addr > mem.size() || n > mem.size() - addr) { fail("memory write outside the card memory"); break; }
            memcpy(mem.data() + addr, data.data(), n);
            ok();
            break;
        }
        case 'm': {
            uint64_t addr = get<uint64_t>(), n = get<uint64_t>();
            if (addr > mem.size() || n > mem.size() - addr) { fail("memory read outside the card memory"); break; }
            ok();
            write_exact(mem.data() + addr, n);
            break;
        }
        case 'A': {
            uint64_t limit = get<uint64_t>(), waited = 0;
            bool done = false;
            uint32_t status = 0;
            for (;;) {
                status = lite_read(CTRL);
                if ((status & AP_IDLE) && !(status & AP_START)) { done = true; break; }
                if (waited >= limit) break;
                for (int i = 0; i < POLL_INTERVAL; i++) cycle_once();
                waited += POLL_INTERVAL;
            }
            if (!done) { fail("kernel still busy after " + std::to_string(waited) + " cycles (CTRL=" +
                              std::to_string(status) + ")"); break; }
            ok();
            write_exact(&waited, 8);
            break;
        }
        case 'T': { uint64_t n = get<uint64_t>(); for (uint64_t i = 0; i < n; i++) cycle_once(); ok(); break; }
        case 'S': {
            uint64_t stats[4] = {reads_served, writes_served, lowest_drawn == UINT64_MAX ? 0 : lowest_drawn,
                                 highest_drawn};
            ok();
            write_exact(stats, sizeof stats);
            break;
        }
        case 'D': {
#ifdef FPGAX_DEPTH_BUS
            uint64_t stats[3] = {depth_memory->reads, depth_memory->writes, depth_memory->latency_max};
            ok();
            write_exact(stats, sizeof stats);
#else
            fail("this kernel has no HBM master (not a deep-book kernel)");
#endif
            break;
        }
        case 'Q': ok(); top->final(); delete top; return 0;
        default: fail(std::string("unknown request ") + std::to_string(op)); break;
        }
    }
}
