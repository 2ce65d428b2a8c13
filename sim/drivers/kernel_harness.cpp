// Verilator harness for fpgax_kernel, the XRT RTL kernel: the card around it in C++ -- an AXI4-Lite
// master on s_axi_control (what XRT does with the registers) and an AXI4 memory on m_axi_gmem (the
// card's memory) -- served to the host over stdin/stdout, so no Python runs per cycle or per beat.
//
//   Vkernel MEM_BYTES      (then requests on stdin, replies on stdout; errors also on stderr)
//
// Requests (little-endian), each answered by a status byte (0 ok, 1 error + u32 length + text):
//   'R' u32 offset            -> u32 value           AXI-Lite read of a register
//   'W' u32 offset u32 value  ->                     AXI-Lite write
//   'M' u64 addr u64 n bytes  ->                     write card memory directly (a buffer sync)
//   'm' u64 addr u64 n        -> n bytes             read card memory directly
//   'A' u64 max_cycles        -> u64 cycles          poll CTRL every 16 cycles until ap_idle and not
//                                                    ap_start (as PYNQ waits); error after max_cycles
//   'T' u64 n                 ->                     let n cycles pass
//   'Q'                       ->                     end
// The memory answers every AXI4 burst in order: AR and AW always ready, W always ready (beats wait
// for their AW), one R beat and one B a cycle. Out-of-range accesses end the run with exit 5.

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

struct Burst { uint64_t addr; uint32_t beats, done; uint32_t id; };
static std::deque<Burst> reads, writes;
static std::deque<uint32_t> responses;                     // B ids
struct Beat { std::vector<uint8_t> data; uint64_t strobe; bool last; };
static std::deque<Beat> wbeats;

static void die(int code, const std::string& msg) {
    fprintf(stderr, "kernel harness: %s\n", msg.c_str());
    exit(code);
}

static void check_range(uint64_t addr, uint64_t n) {
    if (addr > mem.size() || n > mem.size() - addr)
        die(5, "access of " + std::to_string(n) + " bytes at " + std::to_string(addr) + " is outside the card memory");
}

// One clock cycle of the card: drive the memory's outputs, settle, note the handshakes, clock the edge,
// then act on the handshakes. The AXI-Lite master's signals are set by the caller before.
static void cycle_once() {
    top->m_axi_gmem_arready = 1;
    top->m_axi_gmem_awready = 1;
    top->m_axi_gmem_wready = 1;
    bool rvalid = !reads.empty();
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
    top->m_axi_gmem_bvalid = !responses.empty();
    if (!responses.empty()) { top->m_axi_gmem_bid = responses.front(); top->m_axi_gmem_bresp = 0; }
    top->eval();

    bool ar = top->m_axi_gmem_arvalid, aw = top->m_axi_gmem_awvalid, w = top->m_axi_gmem_wvalid;
    bool r = rvalid && top->m_axi_gmem_rready, b = !responses.empty() && top->m_axi_gmem_bready;
    Burst ar_burst{top->m_axi_gmem_araddr, uint32_t(top->m_axi_gmem_arlen) + 1, 0, uint32_t(top->m_axi_gmem_arid)};
    Burst aw_burst{top->m_axi_gmem_awaddr, uint32_t(top->m_axi_gmem_awlen) + 1, 0, uint32_t(top->m_axi_gmem_awid)};
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

    if (ar) reads.push_back(ar_burst);
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
        if (last) { responses.push_back(wb.id); writes.pop_front(); }
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
    if (argc < 2) die(2, "usage: Vkernel MEM_BYTES");
    mem.assign(strtoull(argv[1], nullptr, 10), 0);
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
        case 'Q': ok(); top->final(); delete top; return 0;
        default: fail(std::string("unknown request ") + std::to_string(op)); break;
        }
    }
}
