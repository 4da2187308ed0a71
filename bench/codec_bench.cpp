// Codec micro-benchmarks. BM_MemcpyBaseline copies the same byte counts in the same binary,
// so UTF-8, base64 and SHA-256 figures read as ratios to memory bandwidth.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "codec/base64.h"
#include "codec/hmac.h"
#include "codec/sha1.h"
#include "codec/sha256.h"
#include "codec/utf8.h"

namespace {

using namespace wspush::codec;

std::vector<uint8_t> bytes(size_t n) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 131 + 17);
    return v;
}

std::string ascii_text(size_t n) {
    const std::string line = "{\"topic\":\"sensors/7\",\"temp\":21.5,\"ok\":true}\n";
    std::string s;
    while (s.size() < n) s += line;
    s.resize(n);
    return s;
}

// Greek, CJK, ASCII and an emoji, cut back to whole code points so the text stays valid.
std::string mixed_text(size_t n) {
    const std::string chunk =
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5 temp=21.5 "  // κόσμε
        "\xe6\xb8\xa9\xe5\xba\xa6\xe4\xbc\xa0\xe6\x84\x9f\xe5\x99\xa8 ok "  // 温度传感器
        "\xf0\x9f\x8c\xa1 status: nominal\n";
    std::string s;
    while (s.size() + chunk.size() <= n) s += chunk;
    s += std::string(n - s.size(), 'x');
    return s;
}

// Handshake cost: SHA-1 of the 24-char key plus the 36-char RFC 6455 GUID.
void BM_Sha1Handshake(benchmark::State& state) {
    const std::string in = "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    for (auto _ : state) {
        Sha1Digest d = sha1(in);
        benchmark::DoNotOptimize(d);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sha1Handshake);

void BM_Sha1(benchmark::State& state) {
    const auto in = bytes(static_cast<size_t>(state.range(0)));
    for (auto _ : state) {
        Sha1 s;
        s.update(in.data(), in.size());
        Sha1Digest d = s.finish();
        benchmark::DoNotOptimize(d);
    }
    state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sha1)->Arg(4096);

void BM_Sha256(benchmark::State& state) {
    const auto in = bytes(static_cast<size_t>(state.range(0)));
    for (auto _ : state) {
        Sha256 s;
        s.update(in.data(), in.size());
        Sha256Digest d = s.finish();
        benchmark::DoNotOptimize(d);
    }
    state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(64)->Arg(4096);

// A webhook signature check's hashing: HMAC-SHA256 over timestamp + "\n" + secret keyed by
// the 67-char secret (four compressions), then Base64 as the robots send it.
void BM_HmacSha256Sign(benchmark::State& state) {
    const std::string secret = "SEC1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a";
    const std::string to_sign = "1577262236757\n" + secret;
    char out[base64_encoded_size(32)];
    for (auto _ : state) {
        const Sha256Digest mac = hmac_sha256(secret, to_sign);
        benchmark::DoNotOptimize(base64_encode(mac.data(), mac.size(), out));
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(to_sign.size()));
}
BENCHMARK(BM_HmacSha256Sign);

void BM_Base64Encode(benchmark::State& state) {
    const auto in = bytes(static_cast<size_t>(state.range(0)));
    std::string out(base64_encoded_size(in.size()), '\0');
    for (auto _ : state) {
        benchmark::DoNotOptimize(base64_encode(in.data(), in.size(), out.data()));
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Base64Encode)->Arg(16)->Arg(4096);

void BM_Base64Decode(benchmark::State& state) {
    const auto raw = bytes(static_cast<size_t>(state.range(0)));
    std::string enc(base64_encoded_size(raw.size()), '\0');
    base64_encode(raw.data(), raw.size(), enc.data());
    std::vector<uint8_t> out(raw.size());
    for (auto _ : state) {
        benchmark::DoNotOptimize(base64_decode(enc, out.data(), out.size()));
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(state.iterations() * state.range(0));  // decoded bytes
}
BENCHMARK(BM_Base64Decode)->Arg(16)->Arg(4096);

void run_utf8(benchmark::State& state, const std::string& text) {
    if (!utf8_valid(text)) {
        state.SkipWithError("benchmark input is not valid UTF-8");
        return;
    }
    const auto* p = reinterpret_cast<const uint8_t*>(text.data());
    for (auto _ : state) {
        benchmark::DoNotOptimize(p);
        Utf8Validator v;
        const bool ok = v.feed(p, text.size());
        benchmark::DoNotOptimize(ok);
    }
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}

void BM_Utf8Ascii(benchmark::State& state) { run_utf8(state, ascii_text(static_cast<size_t>(state.range(0)))); }
BENCHMARK(BM_Utf8Ascii)->Arg(4096)->Arg(65536);

void BM_Utf8Mixed(benchmark::State& state) { run_utf8(state, mixed_text(static_cast<size_t>(state.range(0)))); }
BENCHMARK(BM_Utf8Mixed)->Arg(4096)->Arg(65536);

void BM_MemcpyBaseline(benchmark::State& state) {
    const std::string src = ascii_text(static_cast<size_t>(state.range(0)));
    std::string dst(src.size(), '\0');
    for (auto _ : state) {
        std::memcpy(dst.data(), src.data(), src.size());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_MemcpyBaseline)->Arg(16)->Arg(64)->Arg(4096)->Arg(65536);

}  // namespace

BENCHMARK_MAIN();
