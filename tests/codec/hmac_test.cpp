#include "codec/hmac.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <string>

#include "codec/base64.h"
#include "support/bytes.h"
#include "support/test_server.h"

namespace wspush::codec {
namespace {

using wspush::testing::to_hex;

struct Vector {
    const char* name;
    std::string key;
    std::string data;
    const char* mac;  // hex; case 5 gives only the first 128 bits
};

std::string bytes_from(uint8_t first, size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += static_cast<char>(first + i);
    return s;
}

// RFC 4231 section 4, HMAC-SHA-256 results.
const Vector kRfc4231[] = {
    {"Case1", std::string(20, '\x0b'), "Hi There",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {"Case2KeyShorterThanOutput", "Jefe", "what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {"Case3", std::string(20, '\xaa'), std::string(50, '\xdd'),
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
    {"Case4", bytes_from(0x01, 25), std::string(50, '\xcd'),
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
    {"Case5Truncated128", std::string(20, '\x0c'), "Test With Truncation", "a3b6167473100ee06e0c796c2955552b"},
    {"Case6KeyLargerThanBlock", std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    {"Case7KeyAndDataLargerThanBlock", std::string(131, '\xaa'),
     "This is a test using a larger than block-size key and a larger than block-size data. The key needs to "
     "be hashed before being used by the HMAC algorithm.",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
};

std::string truncated_hex(const Sha256Digest& d, size_t hex_len) { return to_hex(d).substr(0, hex_len); }

class HmacRfc4231 : public ::testing::TestWithParam<Vector> {};

TEST_P(HmacRfc4231, OneShotMatches) {
    const Vector& v = GetParam();
    EXPECT_EQ(truncated_hex(hmac_sha256(v.key, v.data), std::strlen(v.mac)), v.mac);
}

TEST_P(HmacRfc4231, EverySplitMatches) {
    const Vector& v = GetParam();
    for (size_t cut = 0; cut <= v.data.size(); ++cut) {
        HmacSha256 h(v.key.data(), v.key.size());
        h.update(v.data.data(), cut);
        h.update(v.data.data() + cut, v.data.size() - cut);
        ASSERT_EQ(truncated_hex(h.finish(), std::strlen(v.mac)), v.mac) << "cut=" << cut;
    }
}

// A keyed object copied per message gives the same MAC as keying afresh.
TEST_P(HmacRfc4231, CopyOfKeyedObjectMatches) {
    const Vector& v = GetParam();
    const HmacSha256 keyed(v.key.data(), v.key.size());
    for (int i = 0; i < 2; ++i) {
        HmacSha256 h = keyed;
        h.update(v.data.data(), v.data.size());
        EXPECT_EQ(truncated_hex(h.finish(), std::strlen(v.mac)), v.mac);
    }
}

INSTANTIATE_TEST_SUITE_P(Rfc4231, HmacRfc4231, ::testing::ValuesIn(kRfc4231),
                         [](const auto& info) { return std::string(info.param.name); });

// Keys of 63, 64 and 65 bytes straddle the hash-the-key rule; all differ from each other and
// a 65-byte key equals its own SHA-256 used as the key (RFC 2104 section 2).
TEST(HmacSha256, KeyAtBlockBoundaries) {
    const std::string msg = "1577262236757\nSEC";
    const std::string k65(65, 'k');
    const Sha256Digest k65_hash = sha256(k65);
    const std::string hashed(reinterpret_cast<const char*>(k65_hash.data()), k65_hash.size());
    EXPECT_EQ(hmac_sha256(k65, msg), hmac_sha256(hashed, msg));
    EXPECT_NE(hmac_sha256(std::string(63, 'k'), msg), hmac_sha256(std::string(64, 'k'), msg));
    EXPECT_NE(hmac_sha256(std::string(64, 'k'), msg), hmac_sha256(k65, msg));
}

// Random keys (0..150 bytes) and messages (0..300 bytes) against python3's hmac module, run
// once now; a few cases keep it quick.
TEST(HmacSha256, RandomInputsMatchPython) {
    std::mt19937 rng(20240601);
    std::string args;
    std::vector<std::pair<std::string, std::string>> cases;
    for (int i = 0; i < 6; ++i) {
        std::string key(rng() % 151, '\0'), msg(rng() % 301, '\0');
        for (char& c : key) c = static_cast<char>(rng());
        for (char& c : msg) c = static_cast<char>(rng());
        args += " " + (key.empty() ? std::string("''") : to_hex(key)) + " " +
                (msg.empty() ? std::string("''") : to_hex(msg));
        cases.emplace_back(std::move(key), std::move(msg));
    }
    int status = -1;
    const std::string out = wspush::testing::run_command(
        "python3 -S -c 'import hmac, hashlib, sys\n"
        "a = sys.argv[1:]\n"
        "for k, m in zip(a[::2], a[1::2]): print(hmac.new(bytes.fromhex(k), bytes.fromhex(m), hashlib.sha256).hexdigest())'" +
            args,
        &status);
    if (status != 0) GTEST_SKIP() << "python3 not usable: status " << status;
    std::istringstream lines(out);
    std::string want;
    size_t i = 0;
    for (; std::getline(lines, want) && i < cases.size(); ++i) {
        EXPECT_EQ(to_hex(hmac_sha256(cases[i].first, cases[i].second)), want)
            << "key=" << cases[i].first.size() << " bytes, message=" << cases[i].second.size() << " bytes";
    }
    EXPECT_EQ(i, cases.size());
}

// The group robots' signature: Base64(HMAC-SHA256(secret, timestamp + "\n" + secret)), as
// Debian's openssl computes it.
TEST(HmacSha256, RobotSignatureMatchesOpenssl) {
    const std::string secret = "SEC1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a";
    const std::string to_sign = "1577262236757\n" + secret;
    int status = -1;
    const std::string out = wspush::testing::run_command(
        "printf '1577262236757\\n%s' '" + secret + "' | openssl dgst -sha256 -hmac '" + secret + "' -binary | base64",
        &status);
    if (status != 0 || out.empty()) GTEST_SKIP() << "openssl not usable: status " << status;
    const Sha256Digest mac = hmac_sha256(secret, to_sign);
    char b64[base64_encoded_size(32)];
    ASSERT_EQ(base64_encode(mac.data(), mac.size(), b64), sizeof b64);
    EXPECT_EQ(std::string(b64, sizeof b64) + "\n", out);
}

}  // namespace
}  // namespace wspush::codec
