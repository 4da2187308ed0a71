// JSON parsing of a realistic robot webhook body (a 598-byte markdown alert with CJK text,
// escapes and a surrogate pair). Figures read as ratios to BM_MemcpyBaseline, a copy of the
// same bytes in the same binary.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string_view>

#include "json/json.h"
#include "json/robot_messages.h"

namespace {

using namespace wspush::json;

constexpr std::string_view kBody = samples::kMarkdownAlert;
constexpr uint32_t kTokens = 64;

void count(benchmark::State& state) {
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBody.size()));
}

void BM_MemcpyBaseline(benchmark::State& state) {
    char out[kBody.size()];
    for (auto _ : state) {
        std::memcpy(out, kBody.data(), kBody.size());
        benchmark::DoNotOptimize(out);
        benchmark::ClobberMemory();
    }
    count(state);
}
BENCHMARK(BM_MemcpyBaseline);

// Validation and tokenizing only.
void BM_JsonParse(benchmark::State& state) {
    Token tokens[kTokens];
    Document doc;
    for (auto _ : state) {
        const char* p = kBody.data();
        benchmark::DoNotOptimize(p);
        const Result r = parse(std::string_view(p, kBody.size()), tokens, kTokens, &doc);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(tokens);
    }
    count(state);
}
BENCHMARK(BM_JsonParse);

// What the webhook does with a body: parse, find msgtype, title, text and the mentions, and
// unescape the text into a buffer.
void BM_JsonParseAndRead(benchmark::State& state) {
    Token tokens[kTokens];
    Document doc;
    char text[kBody.size()];
    for (auto _ : state) {
        const char* p = kBody.data();
        benchmark::DoNotOptimize(p);
        if (!parse(std::string_view(p, kBody.size()), tokens, kTokens, &doc).ok()) {
            state.SkipWithError("parse failed");
            return;
        }
        const bool markdown = doc.equals(doc.get(0, "msgtype"), "markdown");
        const uint32_t md = doc.get(0, "markdown");
        const ptrdiff_t n = doc.string(doc.get(md, "text"), text, sizeof text);
        const uint32_t title = doc.get(md, "title");
        const uint32_t mobiles = doc.path(0, {"at", "atMobiles"});
        const uint32_t all = doc.path(0, {"at", "isAtAll"});
        benchmark::DoNotOptimize(markdown);
        benchmark::DoNotOptimize(n);
        benchmark::DoNotOptimize(title);
        benchmark::DoNotOptimize(mobiles);
        benchmark::DoNotOptimize(all);
        benchmark::DoNotOptimize(text);
    }
    count(state);
}
BENCHMARK(BM_JsonParseAndRead);

}  // namespace

BENCHMARK_MAIN();
