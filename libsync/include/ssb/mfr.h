// map-filter-reduce: the query language of ssb-query 2.4 (`query.read`) and ssb-links 3
// (`links2.read`), evaluated with the semantics of map-filter-reduce 3.2.2 as ssb-query runs it.
//
// A query is an array of stages, each an object whose first key names it:
//   {"$filter": RULE}   keep the items RULE holds for (an object rule matches fields, a basic
//                       value matches exactly; operators $eq $ne $gt $gte $lt $lte $prefix $in
//                       $is $not $truthy $int $mod $type $get)
//   {"$map": RULE}      replace each item by what RULE extracts (a path such as
//                       ["value","content","type"], an object of such rules, `true` for all);
//                       items that map to a falsy value are dropped, as ssb-query drops them
//   {"$reduce": RULE}   aggregate ($count $sum $product $min $max $collect), grouped by the
//                       plain paths among RULE's fields; emits when the input ends
//   {"$sort": [PATH…]}  order the whole result (typewise), also when the input ends
// The JavaScript details that decide results are reproduced: `undefined` apart from `null`,
// `typeof`, strict and loose equality, relational comparison with its type coercions, number
// formatting, and what a rule that JavaScript would throw on does (here: an error Status).
//
// The query is untrusted input (it comes from RPC callers and the command line): Parse bounds
// its depth and size, and a Runner bounds what $reduce and $sort hold.
//
// Thread-safety: a Query is immutable after Parse and may be shared; a Runner is not
// synchronized.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ssb/json.h"
#include "ssb/status.h"

namespace ssb::mfr {

struct Limits {
  uint32_t max_depth = 32;    // nesting of the query JSON
  size_t max_nodes = 4096;    // JSON values in the query, all levels
  size_t max_stages = 32;
  // Values a Runner may hold for $reduce groups, $collect arrays and $sort, together.
  size_t max_held = 100000;
};

class Node;  // a compiled rule (private)

// A parsed query.
class Query {
 public:
  // Parses `query`: an array of stages, or a single stage object. Error: kInvalidArgument
  // naming the rule that map-filter-reduce cannot process ("unknown function:$x", "could not
  // process:…"), kLimitExceeded when over `limits`.
  static Result<Query> Parse(const json::Value& query, const Limits& limits = {});

  Query();
  ~Query();
  Query(Query&&) noexcept;
  Query& operator=(Query&&) noexcept;

  // The rule of the first stage when it is a $filter (what index selection looks at), else
  // nullptr.
  const json::Value* first_filter() const;
  // True when a stage emits only at the end of the input ($reduce, $sort).
  bool blocking() const;
  size_t stage_count() const;
  const Limits& limits() const;

  struct Stage;

 private:
  friend class Runner;
  std::vector<std::unique_ptr<Stage>> stages_;
  json::Value first_filter_;
  bool has_first_filter_ = false;
  Limits limits_;
};

// Runs a Query over a stream of items (JSON values, e.g. {key, value, timestamp, rts}).
// Items equal to {"sync": true} pass every stage unchanged, as ssb-query passes its marker.
class Runner {
 public:
  // REQUIRES: `query` outlives the Runner.
  explicit Runner(const Query& query);
  ~Runner();
  Runner(Runner&&) noexcept;

  // Feeds one item; appends what the query emits for it to `out` (nothing while a blocking
  // stage collects). Error: kInvalidArgument where JavaScript would throw (e.g. an index rule
  // applied to null), kLimitExceeded when a blocking stage holds too much. After an error the
  // Runner must not be used again.
  Status Push(const json::Value& item, std::vector<json::Value>* out);
  // The input ended: appends what blocking stages emit. Call once.
  Status Finish(std::vector<json::Value>* out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Convenience: runs `query` over `items` and returns everything it emits.
Result<std::vector<json::Value>> Run(const Query& query, const std::vector<json::Value>& items);

}  // namespace ssb::mfr
