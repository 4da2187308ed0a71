// Frame codec micro-benchmarks. BM_MemcpyBaseline copies the same byte counts in the same
// binary, so unmask and parse figures read as ratios to memory bandwidth.
//
// The parse benchmarks re-parse one stream in place: unmasking XORs the payload, so each
// pass flips it between masked and plain. The key bytes are below 0x80 and the text is
// ASCII, so both forms are valid UTF-8 and every pass does the full work.
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "ws/frame.h"
#include "ws/frame_parser.h"

namespace {

using namespace wspush::ws;

constexpr uint8_t kKey[4] = {0x37, 0x7A, 0x21, 0x3D};

std::vector<uint8_t> bytes(size_t n) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 131 + 17);
    return v;
}

// n copies of one masked client frame.
std::vector<uint8_t> frame_stream(Opcode op, const std::vector<uint8_t>& payload, size_t n) {
    uint8_t h[kMaxClientHeader];
    const size_t hn = encode_client_header(h, op, payload.size(), kKey);
    std::vector<uint8_t> one(h, h + hn);
    one.insert(one.end(), payload.begin(), payload.end());
    unmask(one.data() + hn, payload.size(), kKey, 0);
    std::vector<uint8_t> stream;
    for (size_t i = 0; i < n; ++i) stream.insert(stream.end(), one.begin(), one.end());
    return stream;
}

// Counts what arrives and keeps the compiler from discarding it.
class CountingSink final : public FrameSink {
public:
    size_t messages = 0;
    size_t bytes = 0;

    void on_data(Opcode, uint8_t* p, size_t n, bool end) noexcept override {
        benchmark::DoNotOptimize(p);
        bytes += n;
        messages += end;
    }
    void on_ping(const uint8_t*, size_t) noexcept override {}
    void on_pong(const uint8_t*, size_t) noexcept override {}
    void on_close(uint16_t, std::string_view) noexcept override {}
};

void BM_MemcpyBaseline(benchmark::State& state) {
    const size_t n = static_cast<size_t>(state.range(0));
    const auto src = bytes(n);
    std::vector<uint8_t> dst(n);
    for (auto _ : state) {
        std::memcpy(dst.data(), src.data(), n);
        benchmark::DoNotOptimize(dst.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_MemcpyBaseline)->Arg(16)->Arg(4096)->Arg(65536);

void BM_Unmask(benchmark::State& state) {
    const size_t n = static_cast<size_t>(state.range(0));
    auto buf = bytes(n);
    for (auto _ : state) {
        unmask(buf.data(), n, kKey, 0);
        benchmark::DoNotOptimize(buf.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_Unmask)->Arg(16)->Arg(4096)->Arg(65536);

// Server headers for a mix of the three length forms.
void BM_EncodeHeader(benchmark::State& state) {
    static constexpr uint64_t kLengths[] = {32, 125, 126, 4096, 65536, 1 << 20, 7, 300};
    uint8_t out[kMaxServerHeader];
    size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(encode_header(out, Opcode::kText, kLengths[i++ & 7]));
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_EncodeHeader);

// Parses `frames` copies of one frame, all in one read, per iteration.
void parse_stream(benchmark::State& state, Opcode op, const std::vector<uint8_t>& payload,
                  size_t frames) {
    auto stream = frame_stream(op, payload, frames);
    FrameParser parser;
    CountingSink sink;
    for (auto _ : state) {
        if (parser.parse(stream.data(), stream.size(), ~0ull, sink) != ParseStatus::kOk) {
            state.SkipWithError("parse failed");
            break;
        }
    }
    benchmark::DoNotOptimize(sink.bytes);
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * frames));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
}

// 1024 small masked text frames (32-byte payload, 6-byte header).
void BM_ParseFrames(benchmark::State& state) {
    parse_stream(state, Opcode::kText, std::vector<uint8_t>(32, 'a'), 1024);
}
BENCHMARK(BM_ParseFrames);

// 16 binary frames of 64 KiB (4-byte length form).
void BM_ParseLargeBinary(benchmark::State& state) {
    parse_stream(state, Opcode::kBinary, bytes(65536), 16);
}
BENCHMARK(BM_ParseLargeBinary);

}  // namespace

BENCHMARK_MAIN();
