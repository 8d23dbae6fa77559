// validate+verify throughput of classic messages on one thread, next to the raw ed25519
// verify rate measured in the same run (the reference; README "Performance").
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "bench_util.h"
#include "corpus.h"
#include "ssb/message.h"
#include "ssb/base64.h"
#include "ssb/ref.h"

using namespace ssb;

int main(int argc, char** argv) {
  size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 20000;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  CryptoInit();
  // A corpus shaped like real feeds: posts of varied length with some non-ASCII, votes, contacts.
  std::mt19937_64 rng(42);
  std::vector<Keypair> authors;
  for (int i = 0; i < 4; ++i) authors.push_back(Keypair::Generate());
  std::vector<std::optional<FeedState>> heads(authors.size());
  std::vector<std::string> wires;
  std::vector<FeedState> prevs;   // the state each message is validated against
  std::vector<bool> has_prev;
  for (size_t i = 0; i < n; ++i) {
    size_t a = rng() % authors.size();
    json::Value c = ssb::bench::FeedLikeContent(rng, authors[(a + 1) % authors.size()].id());
    const FeedState* prev = heads[a] ? &*heads[a] : nullptr;
    has_prev.push_back(prev != nullptr);
    prevs.push_back(prev ? *prev : FeedState{});
    auto m = CreateMessage(authors[a], prev, std::move(c), 1.7e12 + static_cast<double>(i));
    if (!m.ok()) return std::fprintf(stderr, "%s\n", m.status().ToString().c_str()), 1;
    wires.push_back(m->Wire());
    heads[a] = FeedState{m->id(), *m->sequence()};
  }
  // Inputs of the reference: exactly the bytes and keys a verifier needs, prepared up front.
  std::vector<std::string> signing;
  std::vector<PublicKey> keys;
  std::vector<Signature> sigs;
  size_t wire_bytes = 0;
  for (const auto& w : wires) {
    auto m = Message::Parse(w);
    signing.push_back(m->signing_bytes());
    keys.push_back(*ParseFeedId(m->author()));
    Signature s;
    auto raw = m->value().Find("signature")->as_string();
    auto dec = Base64DecodeCanonical(std::string_view(raw).substr(0, 88));
    std::copy(dec->begin(), dec->end(), s.begin());
    sigs.push_back(s);
    wire_bytes += w.size();
  }

  // The two loops alternate in chunks so that load from other processes hits both alike.
  constexpr size_t kChunk = 500;
  std::vector<double> raw_rates, ours_rates;
  for (int r = 0; r < rounds; ++r) {
    double raw_time = 0, ours_time = 0;
    for (size_t start = 0; start < n; start += kChunk) {
      size_t end = std::min(n, start + kChunk);
      double t0 = ssb::bench::Now();
      size_t ok = 0;
      for (size_t i = start; i < end; ++i) {
        ok += VerifySignature(keys[i],
                              std::span(reinterpret_cast<const uint8_t*>(signing[i].data()),
                                        signing[i].size()),
                              sigs[i]);
      }
      double t1 = ssb::bench::Now();
      for (size_t i = start; i < end; ++i) {
        auto m = Message::Parse(wires[i]);
        ok += m.ok() && Validate(*m, has_prev[i] ? &prevs[i] : nullptr).ok();
      }
      double t2 = ssb::bench::Now();
      if (ok != 2 * (end - start)) return std::fprintf(stderr, "verification failed\n"), 1;
      raw_time += t1 - t0;
      ours_time += t2 - t1;
    }
    raw_rates.push_back(static_cast<double>(n) / raw_time);
    ours_rates.push_back(static_cast<double>(n) / ours_time);
  }
  double raw = ssb::bench::Median(raw_rates), ours = ssb::bench::Median(ours_rates);
  std::printf("validate_bench: %zu messages (%.0f bytes average), %d rounds, one thread\n", n,
              static_cast<double>(wire_bytes) / static_cast<double>(n), rounds);
  ssb::bench::Header("Message validation");
  ssb::bench::Row("raw crypto_sign_verify_detached", raw, "msgs/s", "reference, same run");
  ssb::bench::Row("parse + validate + verify (ssb-validate rules)", ours, "msgs/s", "");
  std::printf("ratio validate/raw-verify: %.3f (goal >= 0.85)\n", ours / raw);
  return 0;
}
