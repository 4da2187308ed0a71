// Journal micro-benchmarks: CRC32C against a byte-at-a-time loop and memcpy of the same bytes; append throughput per
// fsync policy (256-byte messages, one commit per 64, as a loop turn would); start-up on a
// 64 MiB journal (1000 channels, history 100) against a full scan of the same files.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "journal/crc32c.h"
#include "journal/files.h"
#include "journal/recovery.h"
#include "journal/writer.h"

namespace {

using namespace wspush::journal;

std::string temp_dir() {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/wspush-journal-bench-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) abort();
    return tmpl;
}

struct Dir {
    std::string path = temp_dir();
    ~Dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

void BM_Crc32c(benchmark::State& state) {
    std::vector<uint8_t> buf(static_cast<size_t>(state.range(0)), 0x5a);
    for (auto _ : state) benchmark::DoNotOptimize(crc32c(buf.data(), buf.size()));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32c)->Arg(256)->Arg(4096);

// The classic byte-at-a-time table loop, for the slice-by-8 figure above.
uint32_t crc32c_bytewise(const uint8_t* p, size_t n) {
    static const auto table = [] {
        std::vector<uint32_t> t(256);
        for (uint32_t b = 0; b < 256; ++b) {
            uint32_t c = b;
            for (int i = 0; i < 8; ++i) c = (c >> 1) ^ ((c & 1) ? 0x82F63B78u : 0);
            t[b] = c;
        }
        return t;
    }();
    uint32_t c = ~0u;
    while (n--) c = (c >> 8) ^ table[(c ^ *p++) & 0xff];
    return ~c;
}

void BM_Crc32cBytewise(benchmark::State& state) {
    std::vector<uint8_t> buf(static_cast<size_t>(state.range(0)), 0x5a);
    for (auto _ : state) benchmark::DoNotOptimize(crc32c_bytewise(buf.data(), buf.size()));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32cBytewise)->Arg(256)->Arg(4096);

void BM_MemcpyBaseline(benchmark::State& state) {
    std::vector<uint8_t> src(static_cast<size_t>(state.range(0)), 0x5a), dst(src.size());
    for (auto _ : state) {
        std::memcpy(dst.data(), src.data(), src.size());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_MemcpyBaseline)->Arg(256)->Arg(4096);

// One record per iteration; a commit every 64 (under kAlways every append commits).
void BM_Append(benchmark::State& state) {
    Dir dir;
    Options o;
    o.fsync = static_cast<Fsync>(state.range(0));
    o.max_bytes = 64ull << 20;
    Recovered rec;
    Error err;
    Writer w;
    if (!recover(dir.path, o, rec, err) || !w.open(dir.path, o, rec, err)) {
        state.SkipWithError(err.text);
        return;
    }
    const std::string payload(256, 'p');
    uint64_t seq = 0;
    for (auto _ : state) {
        ++seq;
        if (w.append_message("sensors/7", 1, seq, false, payload) != 0 || (seq % 64 == 0 && w.commit() != 0)) {
            state.SkipWithError(w.error().text);
            return;
        }
    }
    (void)w.commit();
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 256);
    state.counters["syncs/record"] = static_cast<double>(w.stats().syncs) / static_cast<double>(seq);
}
BENCHMARK(BM_Append)->Arg(static_cast<int>(Fsync::kAlways))->Name("BM_Append/always")->Iterations(2000);
BENCHMARK(BM_Append)->Arg(static_cast<int>(Fsync::kBatch))->Name("BM_Append/batch");
BENCHMARK(BM_Append)->Arg(static_cast<int>(Fsync::kNever))->Name("BM_Append/never");

// A 64 MiB journal, written once: 1000 channels in turn, 256-byte payloads, 4 MiB segments.
const Options& startup_options() {
    static const Options o = [] {
        Options x;
        x.fsync = Fsync::kNever;
        x.max_bytes = 80ull << 20;
        x.history = 100;
        return x;
    }();
    return o;
}

const std::string& journal_64m() {
    static Dir dir;
    static bool made = false;
    if (made) return dir.path;
    made = true;
    Recovered rec;
    Error err;
    Writer w;
    if (!recover(dir.path, startup_options(), rec, err) || !w.open(dir.path, startup_options(), rec, err)) abort();
    const std::string payload(256, 'p');
    std::vector<uint64_t> seq(1000, 0);
    for (uint64_t i = 0; w.bytes() < (64ull << 20); ++i) {
        const size_t c = i % seq.size();
        if (w.append_message("channel/" + std::to_string(c), 1, ++seq[c], false, payload) != 0) abort();
        if (i % 64 == 63 && w.commit() != 0) abort();
    }
    if (w.commit() != 0) abort();
    return dir.path;
}

void BM_Startup64MiB(benchmark::State& state) {
    const std::string& dir = journal_64m();
    Recovered rec;
    for (auto _ : state) {
        Error err;
        if (!recover(dir, startup_options(), rec, err)) {
            state.SkipWithError(err.text);
            return;
        }
    }
    uint64_t kept = 0;
    for (const RecoveredChannel& c : rec.channels) kept += c.messages.size();
    state.counters["segments"] = static_cast<double>(rec.segments.size());
    state.counters["read"] = static_cast<double>(rec.segments_read);
    state.counters["MiB_read"] = static_cast<double>(rec.bytes_read) / (1 << 20);
    state.counters["messages"] = static_cast<double>(kept);
}
BENCHMARK(BM_Startup64MiB)->Unit(benchmark::kMillisecond);

// What start-up would cost without the index: read and check every record of every segment.
void BM_FullScan64MiB(benchmark::State& state) {
    const std::string& dir = journal_64m();
    uint64_t records = 0, bytes = 0;
    for (auto _ : state) {
        std::vector<uint64_t> numbers;
        Error err;
        if (list_segments(dir, numbers, err) != 0) abort();
        records = bytes = 0;
        for (const uint64_t n : numbers) {
            std::string file;
            if (read_file(join(dir, segment_name(n)), file, 1ull << 30, err) != 0) abort();
            bytes += file.size();
            (void)scan_records(reinterpret_cast<const uint8_t*>(file.data()), file.size(),
                               [&](const Record&, size_t) { ++records; });
        }
    }
    state.counters["records"] = static_cast<double>(records);
    state.counters["MiB"] = static_cast<double>(bytes) / (1 << 20);
}
BENCHMARK(BM_FullScan64MiB)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
