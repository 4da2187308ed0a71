// HTTP upgrade path: parse a real Chromium upgrade request, validate it, answer 101.
// Figures read as ratios to BM_MemcpyBaseline, a copy of the same bytes.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string_view>

#include "http/handshake.h"
#include "http/request_parser.h"
#include "http/captured_requests.h"
#include "http/response.h"

namespace {

using namespace wspush::http;

constexpr std::string_view kChromium = captured::kChromium;

constexpr std::string_view kProtocols[] = {"chat"};
constexpr std::string_view kOrigins[] = {"https://example.com", "http://127.0.0.1:18767"};

void count(benchmark::State& state) {
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChromium.size()));
}

void BM_MemcpyBaseline(benchmark::State& state) {
    char out[kChromium.size()];
    for (auto _ : state) {
        std::memcpy(out, kChromium.data(), kChromium.size());
        benchmark::DoNotOptimize(out);
        benchmark::ClobberMemory();
    }
    count(state);
}
BENCHMARK(BM_MemcpyBaseline);

void BM_ParseUpgradeRequest(benchmark::State& state) {
    Request req;
    for (auto _ : state) {
        const char* buf = kChromium.data();
        benchmark::DoNotOptimize(buf);
        ParseResult r = parse_request(buf, kChromium.size(), 0, req);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(req);
    }
    count(state);
}
BENCHMARK(BM_ParseUpgradeRequest);

// The same head arriving one byte per read: last_len keeps the total work linear.
void BM_ParseUpgradeRequestByteByByte(benchmark::State& state) {
    Request req;
    for (auto _ : state) {
        const char* buf = kChromium.data();
        benchmark::DoNotOptimize(buf);
        ParseResult r;
        for (size_t len = 1; len <= kChromium.size(); ++len) {
            r = parse_request(buf, len, len - 1, req);
        }
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(req);
    }
    count(state);
}
BENCHMARK(BM_ParseUpgradeRequestByteByByte);

// SHA-1 of 60 bytes plus base64: the phase that dominates check_upgrade.
void BM_AcceptKey(benchmark::State& state) {
    char key[24];
    std::memcpy(key, "KTz//8Mkv2SXba515wu6fQ==", sizeof key);
    char out[28];
    for (auto _ : state) {
        benchmark::DoNotOptimize(key);
        accept_key(key, out);
        benchmark::DoNotOptimize(out);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_AcceptKey);

// What a connection does with the head: parse, validate (origin list, protocol
// negotiation), compute the accept key and write the 101 response.
void BM_CheckUpgrade(benchmark::State& state) {
    const HandshakeOptions opt{.protocols = kProtocols, .origins = kOrigins};
    Request req;
    char response[256];
    for (auto _ : state) {
        const char* buf = kChromium.data();
        benchmark::DoNotOptimize(buf);
        if (parse_request(buf, kChromium.size(), 0, req).status != ParseStatus::kDone) {
            state.SkipWithError("parse failed");
            break;
        }
        const Handshake hs = check_upgrade(req, opt);
        const size_t n = write_upgrade_response(response, sizeof response, hs.accept, hs.protocol);
        if (hs.status != 101 || n == 0) {
            state.SkipWithError("handshake refused");
            break;
        }
        benchmark::DoNotOptimize(response);
        benchmark::DoNotOptimize(n);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_CheckUpgrade);

}  // namespace

BENCHMARK_MAIN();
