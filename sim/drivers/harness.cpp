// Verilator batch harness for fpgax_engine: streams a binary command file (.bin) into the
// engine and writes every event it emits to an event file (.evt), with no Python in the loop.
//
//   Vharness IN.bin OUT.evt [--idle P] [--stall P] [--seed S] [--timeout CYCLES] [--max-events N]
//            [--vcd FILE] [--mem-latency LO,HI] [--mem-ready P] [--mem-base ADDRESS] [--mem-log FILE]
//
// --idle P:  each cycle, with probability P, the source offers nothing (input idle)
// --stall P: each cycle, with probability P, the sink is not ready (output backpressure)
// The run ends when every command was taken and the engine is idle. Prints one JSON line:
// {"commands": N, "events": M, "cycles": C, "init_cycles": I}. Exit 3 when the engine makes
// no progress for --timeout cycles (a hang), 4 when one command emits more than --max-events
// events, counted by the ts_in they share (a runaway: no command can emit more than
// EngineConfig.max_events_per_command), 2 on bad
// arguments or files.
//
// A deep-book engine (built with -DFPGAX_DEPTH_BUS: its profile's window smaller than its range) has
// an AXI4 master for its level rows in HBM; the harness serves it with DepthMemory (depth_memory.h:
// each access's latency drawn from --mem-latency LO,HI cycles, each ready high with chance
// --mem-ready, the engine's region from --mem-base; exit 5 on the engine's bad access). The JSON line
// adds {"mem_reads", "mem_writes", "mem_latency_max"}; the run ends only with no access in flight.
// --mem-log FILE: a uint32 per command, the HBM accesses (reads and writes asked) from the cycle it
// was taken to the cycle the next one was -- what the command waited for, or left running.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "Vfpgax_engine.h"
#include "verilated.h"
#if VM_TRACE
#include "verilated_vcd_c.h"
#endif

// Record sizes and the protocol version come from fpgax.protocol, passed as -D by fpgax.sim.rtl.
// Amaranth names stream ports i__valid, i__payload, ...; Verilator escapes "__" as "___05F".
#define IN_VALID i___05Fvalid
#define IN_READY i___05Fready
#define IN_PAYLOAD i___05Fpayload
#define OUT_VALID o___05Fvalid
#define OUT_READY o___05Fready
#define OUT_PAYLOAD o___05Fpayload

static const size_t CMD_BYTES = FPGAX_CMD_BYTES, EVT_BYTES = FPGAX_EVT_BYTES, HDR_BYTES = FPGAX_HDR_BYTES;
static const size_t TS_IN_OFFSET = FPGAX_TS_IN_OFFSET;

static void die(int code, const std::string& msg) {
    fprintf(stderr, "harness: %s\n", msg.c_str());
    exit(code);
}

#ifdef FPGAX_DEPTH_BUS
#define DEPTH(x) depth_bus___05F##x
#include "depth_memory.h"
#endif

static std::vector<uint8_t> read_file(const char* path) {
    FILE* f = fopen(path, "rb");
    if (!f) die(2, std::string("cannot open ") + path);
    std::vector<uint8_t> data;
    uint8_t buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) data.insert(data.end(), buf, buf + n);
    fclose(f);
    return data;
}

int main(int argc, char** argv) {
    if (argc < 3) die(2, "usage: Vharness IN.bin OUT.evt [--idle P] [--stall P] [--seed S] [--timeout N] [--max-events N] [--vcd F]");
    double idle_p = 0, stall_p = 0;
    uint64_t seed = 1, timeout = 1000000, max_events = UINT64_MAX;
    const char* vcd_path = nullptr;
    uint64_t mem_lo = 24, mem_hi = 48, mem_base = 0;
    const char* mem_log = nullptr;
    double mem_ready = 0.8;
    for (int i = 3; i + 1 < argc; i += 2) {
        std::string opt = argv[i];
        if (opt == "--idle") idle_p = atof(argv[i + 1]);
        else if (opt == "--stall") stall_p = atof(argv[i + 1]);
        else if (opt == "--seed") seed = strtoull(argv[i + 1], nullptr, 10);
        else if (opt == "--timeout") timeout = strtoull(argv[i + 1], nullptr, 10);
        else if (opt == "--max-events") max_events = strtoull(argv[i + 1], nullptr, 10);
        else if (opt == "--vcd") vcd_path = argv[i + 1];
        else if (opt == "--mem-latency") {
            if (sscanf(argv[i + 1], "%llu,%llu", (unsigned long long*)&mem_lo, (unsigned long long*)&mem_hi) != 2
                || mem_lo > mem_hi) die(2, "--mem-latency LO,HI: two cycle counts, LO <= HI");
        }
        else if (opt == "--mem-ready") mem_ready = atof(argv[i + 1]);
        else if (opt == "--mem-base") mem_base = strtoull(argv[i + 1], nullptr, 0);
        else if (opt == "--mem-log") mem_log = argv[i + 1];
        else die(2, "unknown option " + opt);
    }
    if (!(mem_ready > 0 && mem_ready <= 1)) die(2, "--mem-ready P: a chance in (0, 1]");

    std::vector<uint8_t> in = read_file(argv[1]);
    if (in.size() < HDR_BYTES || memcmp(in.data(), "FPGAXCMD", 8) != 0) die(2, "not an fpgax command file");
    uint64_t count;
    memcpy(&count, in.data() + 16, 8);
    if (in.size() != HDR_BYTES + count * CMD_BYTES) die(2, "command file size does not match its header");
    const uint8_t* cmds = in.data() + HDR_BYTES;

    Verilated::commandArgs(argc, argv);
    auto* top = new Vfpgax_engine;
#if VM_TRACE
    VerilatedVcdC* vcd = nullptr;
    if (vcd_path) {
        Verilated::traceEverOn(true);
        vcd = new VerilatedVcdC;
        top->trace(vcd, 99);
        vcd->open(vcd_path);
    }
#else
    if (vcd_path) die(2, "this harness was built without tracing");
#endif
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> uni(0.0, 1.0);
    uint64_t time = 0;
    auto tick = [&]() {   // a rising then a falling edge, each dumped when tracing
        for (int level : {1, 0}) {
            top->clk = level;
            top->eval();
#if VM_TRACE
            if (vcd) vcd->dump(time);
#endif
            time++;
        }
    };

    uint64_t next = 0;                       // commands taken
#ifdef FPGAX_DEPTH_BUS
    DepthMemory mem(seed);
    mem.latency_lo = mem_lo, mem.latency_hi = mem_hi, mem.ready_p = mem_ready;
    top->depth_base = mem_base;
    std::vector<uint32_t> per_command(mem_log ? count : 0);
    if (mem_log) mem.per_command = &per_command, mem.taken = &next;
#define MEM_DRIVE(now) mem.drive(top, now)
#define MEM_OBSERVE(now) mem.observe(top, now)
#define MEM_EMPTY mem.empty()
#else
    if (mem_log) die(2, "--mem-log: this engine has no HBM port (not a deep-book configuration)");
#define MEM_DRIVE(now)
#define MEM_OBSERVE(now)
#define MEM_EMPTY true
#endif
    top->clk = 0;
    top->rst = 1;
    top->IN_VALID = 0;
    top->OUT_READY = 0;
    top->eval();
    for (int i = 0; i < 4; i++) tick();
    top->rst = 0;
    top->eval();
    uint64_t init_cycles = 0;
    for (;;) {
        MEM_DRIVE(init_cycles);
        top->eval();
        if (top->IN_READY) break;
        MEM_OBSERVE(init_cycles);
        tick();
        if (++init_cycles > 100000000ULL) die(3, "engine never became ready after reset");
    }

    std::vector<uint8_t> events;
    uint64_t cycles = 0, quiet = 0, same_command = 0;
    uint32_t last_ts_in = 0;
    for (;;) {
        bool offer = next < count && !(idle_p > 0 && uni(rng) < idle_p);
        top->IN_VALID = offer;
        if (offer) memcpy(top->IN_PAYLOAD.data(), cmds + next * CMD_BYTES, CMD_BYTES);
        top->OUT_READY = !(stall_p > 0 && uni(rng) < stall_p);
        MEM_DRIVE(init_cycles + cycles);
        top->eval();
        bool in_fire = top->IN_VALID && top->IN_READY;
        bool out_fire = top->OUT_VALID && top->OUT_READY;
        if (out_fire) {
            const uint8_t* ev = reinterpret_cast<const uint8_t*>(top->OUT_PAYLOAD.data());
            events.insert(events.end(), ev, ev + EVT_BYTES);
            // events of one command share its ts_in (the cycle it was taken)
            uint32_t ts_in;
            memcpy(&ts_in, ev + TS_IN_OFFSET, 4);
            same_command = (same_command && ts_in == last_ts_in) ? same_command + 1 : 1;
            last_ts_in = ts_in;
            if (same_command > max_events) {
                fprintf(stderr, "harness: command %llu emitted more than %llu events (runaway)\n",
                        (unsigned long long)next, (unsigned long long)max_events);
                exit(4);
            }
        }
        bool done = next == count && top->idle && MEM_EMPTY;
        if (done) break;
        MEM_OBSERVE(init_cycles + cycles);
        tick();
        cycles++;
        if (in_fire) next++;
        quiet = (in_fire || out_fire) ? 0 : quiet + 1;
        if (quiet > timeout) {
            fprintf(stderr, "harness: no progress for %llu cycles after %llu of %llu commands\n",
                    (unsigned long long)timeout, (unsigned long long)next, (unsigned long long)count);
            exit(3);
        }
    }

    FILE* out = fopen(argv[2], "wb");
    if (!out) die(2, std::string("cannot write ") + argv[2]);
    uint8_t hdr[HDR_BYTES] = {0};
    memcpy(hdr, "FPGAXEVT", 8);
    uint16_t version = FPGAX_PROTOCOL_VERSION, size = EVT_BYTES;
    uint64_t n_events = events.size() / EVT_BYTES;
    memcpy(hdr + 8, &version, 2);
    memcpy(hdr + 10, &size, 2);
    memcpy(hdr + 16, &n_events, 8);
    fwrite(hdr, 1, HDR_BYTES, out);
    fwrite(events.data(), 1, events.size(), out);
    fclose(out);
#ifdef FPGAX_DEPTH_BUS
    if (mem_log) {
        FILE* log = fopen(mem_log, "wb");
        if (!log) die(2, std::string("cannot write ") + mem_log);
        fwrite(per_command.data(), sizeof(uint32_t), per_command.size(), log);
        fclose(log);
    }
#endif
#if VM_TRACE
    if (vcd) vcd->close();
#endif
    top->final();
    delete top;
    printf("{\"commands\": %llu, \"events\": %llu, \"cycles\": %llu, \"init_cycles\": %llu",
           (unsigned long long)count, (unsigned long long)n_events, (unsigned long long)cycles,
           (unsigned long long)init_cycles);
#ifdef FPGAX_DEPTH_BUS
    printf(", \"mem_reads\": %llu, \"mem_writes\": %llu, \"mem_latency_max\": %llu",
           (unsigned long long)mem.reads, (unsigned long long)mem.writes, (unsigned long long)mem.latency_max);
#endif
    printf("}\n");
    return 0;
}
