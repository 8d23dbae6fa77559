// map-filter-reduce 3.2.2 (the copy inside flumeview-query 8, which ssb-query 2.4 runs),
// reimplemented over ssb::json::Value. The structure follows its make(): a rule is compiled
// into a function by trying, in order, a basic map (string, integer, true), a path (array), the
// operators, a reduce, a nested $filter/$map/$reduce, else "could not process". Evaluation
// reproduces JavaScript's value semantics where results depend on them.
#include "ssb/mfr.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace ssb::mfr {
namespace {

using json::Value;
using Type = Value::Type;

// ---------------------------------------------------------------------------------------------
// JavaScript values during evaluation: undefined, or a JSON value that is either borrowed (an
// item's part, a query literal) or owned (computed). Owned values are shared; one with a single
// owner may be changed in place (reduce accumulators), everything else is copy-on-write.

class JsVal {
 public:
  JsVal() = default;
  static JsVal Ref(const Value& v) {
    JsVal r;
    r.p_ = &v;
    return r;
  }
  static JsVal Own(Value v) {
    JsVal r;
    r.own_ = std::make_shared<Value>(std::move(v));
    r.p_ = r.own_.get();
    return r;
  }
  // `child` is part of `parent`'s value: keeps parent's storage alive.
  static JsVal Child(const JsVal& parent, const Value& child) {
    JsVal r;
    r.own_ = parent.own_;
    r.p_ = &child;
    return r;
  }
  bool undefined() const { return p_ == nullptr; }
  const Value& operator*() const { return *p_; }
  const Value* operator->() const { return p_; }
  // A value this JsVal alone owns, to change in place: itself when it is the sole owner of a
  // whole value, else a copy.
  Value* Mutable() {
    if (!own_ || own_.use_count() != 1 || own_.get() != p_) {
      own_ = std::make_shared<Value>(p_ ? *p_ : Value());
      p_ = own_.get();
    }
    return own_.get();
  }
  // The value, moved out when this is its sole owner (for building results).
  Value Take() {
    if (!p_) return Value();
    if (own_ && own_.use_count() == 1 && own_.get() == p_) return std::move(*own_);
    return *p_;
  }

 private:
  const Value* p_ = nullptr;
  std::shared_ptr<Value> own_;
};

JsVal Undefined() { return JsVal(); }
JsVal OwnBool(bool b) { return JsVal::Own(Value::Bool(b)); }
JsVal OwnNumber(double n) { return JsVal::Own(Value::Number(n)); }
JsVal OwnString(std::string s) { return JsVal::Own(Value::String(std::move(s))); }

bool IsNullish(const JsVal& v) { return v.undefined() || v->is_null(); }



Status TypeError(const std::string& what) {
  return Status::InvalidArgument("query: TypeError: " + what);
}


// Where JavaScript keeps `undefined` inside an array ($collect of a missing field, a $reduce
// group whose rule yields undefined), a JSON value cannot: this object stands for it there.
// It reads as undefined, is skipped where the array is flattened into items, and becomes null
// where the array is emitted whole (as JSON.stringify writes undefined array elements).
const Value& UndefinedMarker() {
  static const Value kMarker = [] {
    Value v = Value::Object();
    v.Set(std::string("\0undefined", 10), Value::Bool(true));
    return v;
  }();
  return kMarker;
}
bool IsUndefinedMarker(const Value& v) {
  return v.is_object() && v.size() == 1 && v == UndefinedMarker();
}
JsVal FromSlot(const JsVal& parent, const Value& v) {
  return IsUndefinedMarker(v) ? Undefined() : JsVal::Child(parent, v);
}
Value ToSlot(JsVal v) { return v.undefined() ? UndefinedMarker() : v.Take(); }

// A built-in method read as a property ('text'.link, [].map, {}.constructor): JavaScript gives
// a function, truthy, typeof "function", dropped by JSON.stringify. Held as an object with one
// key "\0function" naming it; Finalize removes it from what is emitted.
constexpr std::string_view kFunctionKey("\0function", 9);
bool IsFunctionMarker(const Value& v) {
  return v.is_object() && v.size() == 1 && v.keys()[0] == kFunctionKey;
}

// The methods each kind of value inherits (V8 11, Node 20), sorted for binary search.
constexpr std::string_view kObjectMethods[] = {
    "__defineGetter__", "__defineSetter__", "__lookupGetter__", "__lookupSetter__", "constructor",
    "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable", "toLocaleString", "toString",
    "valueOf"};
constexpr std::string_view kStringMethods[] = {
    "anchor", "at", "big", "blink", "bold", "charAt", "charCodeAt", "codePointAt", "concat",
    "constructor", "endsWith", "fixed", "fontcolor", "fontsize", "includes", "indexOf",
    "isWellFormed", "italics", "lastIndexOf", "link", "localeCompare", "match", "matchAll",
    "normalize", "padEnd", "padStart", "repeat", "replace", "replaceAll", "search", "slice",
    "small", "split", "startsWith", "strike", "sub", "substr", "substring", "sup",
    "toLocaleLowerCase", "toLocaleUpperCase", "toLowerCase", "toString", "toUpperCase",
    "toWellFormed", "trim", "trimEnd", "trimLeft", "trimRight", "trimStart", "valueOf"};
constexpr std::string_view kArrayMethods[] = {
    "at", "concat", "constructor", "copyWithin", "entries", "every", "fill", "filter", "find",
    "findIndex", "findLast", "findLastIndex", "flat", "flatMap", "forEach", "includes", "indexOf",
    "join", "keys", "lastIndexOf", "map", "pop", "push", "reduce", "reduceRight", "reverse",
    "shift", "slice", "some", "sort", "splice", "toLocaleString", "toReversed", "toSorted",
    "toSpliced", "toString", "unshift", "values", "with"};
constexpr std::string_view kNumberMethods[] = {"constructor", "toExponential", "toFixed",
                                               "toLocaleString", "toPrecision", "toString",
                                               "valueOf"};
constexpr std::string_view kBooleanMethods[] = {"constructor", "toString", "valueOf"};

template <size_t N>
bool Has(const std::string_view (&list)[N], std::string_view key) {
  return std::binary_search(std::begin(list), std::end(list), key);
}

// The inherited method `key` of a value of type `t`, as a function marker; undefined if none.
JsVal Method(Type t, const std::string& key) {
  const char* proto = nullptr;
  if (t == Type::kString && Has(kStringMethods, key)) proto = "String";
  else if (t == Type::kArray && Has(kArrayMethods, key)) proto = "Array";
  else if (t == Type::kNumber && Has(kNumberMethods, key)) proto = "Number";
  else if (t == Type::kBool && Has(kBooleanMethods, key)) proto = "Boolean";
  else if (Has(kObjectMethods, key)) proto = "Object";
  if (!proto) return JsVal();
  Value m = Value::Object();
  m.Set(std::string(kFunctionKey), Value::String(std::string(proto) + "." + key));
  return JsVal::Own(std::move(m));
}

std::string TypeOf(const JsVal& v) {
  if (v.undefined()) return "undefined";
  switch (v->type()) {
    case Type::kNull: return "object";
    case Type::kBool: return "boolean";
    case Type::kNumber: return "number";
    case Type::kString: return "string";
    case Type::kArray: return "object";
    case Type::kObject: return IsFunctionMarker(*v) ? "function" : "object";
  }
  return "undefined";
}

// Replaces the markers inside an emitted value with null.
void Finalize(Value* v) {
  if (IsFunctionMarker(*v)) {
    *v = Value();
  } else if (v->is_array()) {
    for (Value& e : v->items()) {
      if (IsUndefinedMarker(e) || IsFunctionMarker(e)) e = Value();
      else Finalize(&e);
    }
  } else if (v->is_object()) {
    std::vector<std::string> drop;
    for (size_t i = 0; i < v->size(); ++i) {
      if (IsFunctionMarker(v->items()[i])) drop.push_back(v->keys()[i]);
      else Finalize(&v->items()[i]);
    }
    for (const auto& k : drop) v->Erase(k);
  }
}

bool Truthy(const JsVal& v) {
  if (v.undefined()) return false;
  switch (v->type()) {
    case Type::kNull: return false;
    case Type::kBool: return v->as_bool();
    case Type::kNumber: return v->as_number() != 0 && !std::isnan(v->as_number());
    case Type::kString: return !v->as_string().empty();
    default: return true;
  }
}

// ECMAScript StringToNumber: whitespace-trimmed decimal, Infinity, 0x/0o/0b; "" is 0.
double StringToNumber(std::string_view s) {
  auto is_space = [](std::u16string_view::value_type c) {
    return c == 0x09 || c == 0x0A || c == 0x0B || c == 0x0C || c == 0x0D || c == 0x20 ||
           c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
  };
  std::u16string u = json::ToUtf16(s);
  size_t b = 0, e = u.size();
  while (b < e && is_space(u[b])) ++b;
  while (e > b && is_space(u[e - 1])) --e;
  if (b == e) return 0;
  std::string t;
  for (size_t i = b; i < e; ++i) {
    if (u[i] > 0x7F) return NAN;
    t.push_back(static_cast<char>(u[i]));
  }
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X' || t[1] == 'o' || t[1] == 'O' ||
                                      t[1] == 'b' || t[1] == 'B')) {
    int base = (t[1] == 'x' || t[1] == 'X') ? 16 : (t[1] == 'o' || t[1] == 'O') ? 8 : 2;
    double n = 0;
    for (size_t i = 2; i < t.size(); ++i) {
      int d;
      char c = t[i];
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      else return NAN;
      if (d >= base) return NAN;
      n = n * base + d;
    }
    return n;
  }
  size_t i = 0;
  bool neg = false;
  if (t[i] == '+' || t[i] == '-') neg = t[i++] == '-';
  if (t.compare(i, std::string::npos, "Infinity") == 0) return neg ? -INFINITY : INFINITY;
  // StrUnsignedDecimalLiteral: digits [. digits] | . digits, then an optional exponent.
  size_t start = i, digits = 0;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++digits;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return NAN;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++exp_digits;
    if (exp_digits == 0) return NAN;
  }
  if (i != t.size()) return NAN;
  double n = std::strtod(t.c_str() + start, nullptr);
  return neg ? -n : n;
}

std::string ToStringJs(const JsVal& v);

// Array.prototype.join(",") over elements, as Array.prototype.toString.
std::string JoinArray(const Value& a) {
  std::string out;
  for (size_t i = 0; i < a.size(); ++i) {
    if (i) out += ',';
    const Value& e = a.items()[i];
    if (!e.is_null()) out += ToStringJs(JsVal::Ref(e));
  }
  return out;
}

std::string ToStringJs(const JsVal& v) {
  if (v.undefined()) return "undefined";
  switch (v->type()) {
    case Type::kNull: return "null";
    case Type::kBool: return v->as_bool() ? "true" : "false";
    case Type::kNumber: return json::NumberToString(v->as_number());
    case Type::kString: return v->as_string();
    case Type::kArray: return JoinArray(*v);
    case Type::kObject: {
      if (!IsFunctionMarker(*v)) return "[object Object]";
      const std::string& name = v->items()[0].as_string();
      return "function " + name.substr(name.find('.') + 1) + "() { [native code] }";
    }
  }
  return "";
}

// ToPrimitive with hint "number": objects become their toString (valueOf returns the object).
JsVal ToPrimitive(const JsVal& v) {
  if (!v.undefined() && (v->is_array() || v->is_object())) return OwnString(ToStringJs(v));
  return v;
}

double ToNumber(const JsVal& v) {
  if (v.undefined()) return NAN;
  switch (v->type()) {
    case Type::kNull: return 0;
    case Type::kBool: return v->as_bool() ? 1 : 0;
    case Type::kNumber: return v->as_number();
    case Type::kString: return StringToNumber(v->as_string());
    default: return ToNumber(ToPrimitive(v));
  }
}

// Strict equality (===). Objects and arrays are equal only to themselves; a value from the data
// and one from the query are never the same object.
bool StrictEquals(const JsVal& a, const JsVal& b) {
  if (a.undefined() || b.undefined()) return a.undefined() && b.undefined();
  if (a->type() != b->type()) return false;
  switch (a->type()) {
    case Type::kNull: return true;
    case Type::kBool: return a->as_bool() == b->as_bool();
    case Type::kNumber: return a->as_number() == b->as_number();
    case Type::kString: return a->as_string() == b->as_string();
    default:
      if (IsFunctionMarker(*a) && IsFunctionMarker(*b)) return *a == *b;  // one built-in
      return &*a == &*b;
  }
}

// Compares strings by UTF-16 code units, as JavaScript does.
int CompareStrings(const std::string& a, const std::string& b) {
  std::u16string x = json::ToUtf16(a), y = json::ToUtf16(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// Abstract relational comparison a < b: true, false, or undefined (returned as false with
// *undef set) when a NaN is involved.
bool LessThan(const JsVal& a, const JsVal& b, bool* undef) {
  *undef = false;
  JsVal pa = ToPrimitive(a), pb = ToPrimitive(b);
  if (!pa.undefined() && !pb.undefined() && pa->is_string() && pb->is_string()) {
    return CompareStrings(pa->as_string(), pb->as_string()) < 0;
  }
  double x = ToNumber(pa), y = ToNumber(pb);
  if (std::isnan(x) || std::isnan(y)) {
    *undef = true;
    return false;
  }
  return x < y;
}

bool Lt(const JsVal& a, const JsVal& b) {
  bool u;
  return LessThan(a, b, &u);
}
bool Gt(const JsVal& a, const JsVal& b) {
  bool u;
  return LessThan(b, a, &u);
}
bool Lte(const JsVal& a, const JsVal& b) {
  bool u;
  bool r = LessThan(b, a, &u);
  return !(r || u);
}
bool Gte(const JsVal& a, const JsVal& b) {
  bool u;
  bool r = LessThan(a, b, &u);
  return !(r || u);
}

// Loose equality (==) of a string with any value.
bool LooseEqualsString(const std::string& s, const JsVal& b) {
  if (IsNullish(b)) return false;
  if (b->is_string()) return s == b->as_string();
  if (b->is_array() || b->is_object()) return s == ToStringJs(b);
  return StringToNumber(s) == ToNumber(b);
}

// The property key a value names (ToPropertyKey).
std::string PropertyKey(const JsVal& k) { return ToStringJs(k); }

// obj[key] for a non-nullish obj.
JsVal Get(const JsVal& obj, const std::string& key) {
  const Value& o = *obj;
  switch (o.type()) {
    case Type::kObject: {
      if (IsFunctionMarker(o)) return Undefined();  // a function's own name/length: not kept
      const Value* v = o.Find(key);
      return v ? JsVal::Child(obj, *v) : Method(o.type(), key);
    }
    case Type::kArray: {
      if (key == "length") return OwnNumber(static_cast<double>(o.size()));
      uint32_t i;
      if (json::IsArrayIndex(key, &i)) return i < o.size() ? FromSlot(obj, o.items()[i]) : Undefined();
      return Method(o.type(), key);
    }
    case Type::kString: {
      std::u16string u = json::ToUtf16(o.as_string());
      if (key == "length") return OwnNumber(static_cast<double>(u.size()));
      uint32_t i;
      if (json::IsArrayIndex(key, &i)) {
        if (i >= u.size()) return Undefined();
        return OwnString(json::FromUtf16(std::u16string_view(u).substr(i, 1)));
      }
      return Method(o.type(), key);
    }
    default:
      return Method(o.type(), key);
  }
}

Result<JsVal> GetChecked(const JsVal& obj, const std::string& key) {
  if (IsNullish(obj)) {
    return TypeError("Cannot read properties of " + ToStringJs(obj) + " (reading '" + key + "')");
  }
  return Get(obj, key);
}

// typewiselite's compare: null < boolean < number < string < array < undefined; objects throw.
Result<int> Typewise(const JsVal& a, const JsVal& b) {
  auto rank = [](const JsVal& v) -> int {
    if (v.undefined()) return 7;
    switch (v->type()) {
      case Type::kNull: return 0;
      case Type::kBool: return 1;
      case Type::kNumber: return 2;
      case Type::kString: return 4;
      case Type::kArray: return 6;
      case Type::kObject: return -1;
    }
    return -1;
  };
  int ta = rank(a), tb = rank(b);
  if (ta < 0 || tb < 0) return TypeError("comparing objects or functions is not supported");
  // inequality(a, b): a === b ? 0 : a < b ? -1 : 1
  auto inequality = [](const JsVal& x, const JsVal& y) {
    if (StrictEquals(x, y)) return 0;
    return Lt(x, y) ? -1 : 1;
  };
  if (ta != tb) return ta < tb ? -1 : 1;
  if (ta == 6) {
    size_t n = std::min(a->size(), b->size());
    for (size_t i = 0; i < n; ++i) {
      auto c = Typewise(JsVal::Child(a, a->items()[i]), JsVal::Child(b, b->items()[i]));
      if (!c.ok()) return c;
      if (*c) return *c;
    }
    return inequality(OwnNumber(static_cast<double>(a->size())),
                      OwnNumber(static_cast<double>(b->size())));
  }
  return inequality(a, b);
}

// u.get(obj, path): a string path reads one property (throwing on nullish), an array path walks
// (stopping at nullish), true is the object itself.
Result<JsVal> PathGet(const JsVal& obj, const Value& path) {
  if (path.is_string()) return GetChecked(obj, path.as_string());
  if (path.is_array()) {
    JsVal cur = obj;
    for (const Value& p : path.items()) {
      if (IsNullish(cur)) return Undefined();
      cur = Get(cur, PropertyKey(JsVal::Ref(p)));
    }
    return cur;
  }
  if (path.is_bool() && path.as_bool()) return obj;
  return Undefined();
}

// ---------------------------------------------------------------------------------------------
// Compiled rules.

struct Ctx {
  size_t held = 0;
  size_t max_held = 0;
  Status Hold(size_t n) {
    held += n;
    if (held > max_held) {
      return Status::LimitExceeded("query: $reduce/$sort would hold more than " +
                                   std::to_string(max_held) + " values");
    }
    return Status::Ok();
  }
};

}  // namespace

class Node {
 public:
  virtual ~Node() = default;
  // How many arguments the JavaScript function declares (1: a map or filter, 2: a reduce).
  virtual int arity() const { return 1; }
  virtual Result<JsVal> Call(Ctx& ctx, JsVal a, JsVal b) const = 0;
};

namespace {

using NodePtr = std::unique_ptr<Node>;

Result<JsVal> Call1(Ctx& ctx, const Node& n, JsVal a) { return n.Call(ctx, std::move(a), Undefined()); }

class GetKeyNode : public Node {
 public:
  explicit GetKeyNode(std::string k) : key_(std::move(k)) {}
  Result<JsVal> Call(Ctx&, JsVal a, JsVal) const override {
    if (IsNullish(a)) return Undefined();
    return Get(a, key_);
  }

 private:
  std::string key_;
};

class GetIndexNode : public Node {
 public:
  explicit GetIndexNode(double i) : index_(i) {}
  Result<JsVal> Call(Ctx&, JsVal a, JsVal) const override {
    if (index_ >= 0) return GetChecked(a, json::NumberToString(index_));
    auto len = GetChecked(a, "length");
    if (!len.ok()) return len;
    return Get(a, json::NumberToString(ToNumber(*len) + index_));
  }

 private:
  double index_;
};

class IdentityNode : public Node {
 public:
  Result<JsVal> Call(Ctx&, JsVal a, JsVal) const override { return a; }
};

class LiteralNode : public Node {
 public:
  explicit LiteralNode(const Value& v) : v_(v) {}
  Result<JsVal> Call(Ctx&, JsVal a, JsVal) const override {
    return OwnBool(StrictEquals(a, JsVal::Ref(v_)));
  }

 private:
  const Value& v_;
};

class ComposeNode : public Node {
 public:
  explicit ComposeNode(std::vector<NodePtr> rules) : rules_(std::move(rules)) {}
  Result<JsVal> Call(Ctx& ctx, JsVal a, JsVal) const override {
    for (const auto& r : rules_) {
      auto next = Call1(ctx, *r, std::move(a));
      if (!next.ok()) return next;
      a = std::move(next).value();
    }
    return a;
  }

 private:
  std::vector<NodePtr> rules_;
};

enum class Op { kLt, kGt, kLte, kGte, kEq, kNe, kNot, kTruthy, kPrefix, kIs, kIn, kType, kInt, kMod, kGet };

Result<JsVal> ApplyOp(Op op, const JsVal& a, const Value& arg) {
  JsVal b = JsVal::Ref(arg);
  switch (op) {
    case Op::kLt: return OwnBool(Lt(a, b));
    case Op::kGt: return OwnBool(Gt(a, b));
    case Op::kLte: return OwnBool(Lte(a, b));
    case Op::kGte: return OwnBool(Gte(a, b));
    case Op::kEq: return OwnBool(StrictEquals(a, b));
    case Op::kNe: return OwnBool(!StrictEquals(a, b));
    case Op::kNot: return OwnBool(!Truthy(a));
    case Op::kTruthy: return OwnBool(Truthy(a));
    case Op::kPrefix: {
      if (arg.is_array()) {
        if (a.undefined() || !a->is_array() || a->size() <= arg.size()) return OwnBool(false);
        for (size_t i = 0; i < arg.size(); ++i) {
          if (!StrictEquals(JsVal::Child(a, a->items()[i]), JsVal::Ref(arg.items()[i]))) {
            return OwnBool(false);
          }
        }
        return OwnBool(true);
      }
      if (a.undefined() || !a->is_string()) return OwnBool(false);
      // a.substring(0, str.length) == str
      if (arg.is_null()) return TypeError("Cannot read properties of null (reading 'length')");
      std::string head = a->as_string();
      double len = NAN;
      if (arg.is_string()) len = static_cast<double>(json::Utf16Length(arg.as_string()));
      else if (arg.is_object()) {
        if (const Value* l = arg.Find("length")) len = ToNumber(JsVal::Ref(*l));
      }
      if (!std::isnan(len)) {
        std::u16string u = json::ToUtf16(head);
        size_t n = len <= 0 ? 0 : len >= static_cast<double>(u.size()) ? u.size() : static_cast<size_t>(len);
        head = json::FromUtf16(std::u16string_view(u).substr(0, n));
      }
      return OwnBool(LooseEqualsString(head, b));
    }
    case Op::kIs: return OwnBool(arg.is_string() && TypeOf(a) == arg.as_string());
    case Op::kIn: {
      // ~b.indexOf(a)
      if (arg.is_array()) {
        for (size_t i = 0; i < arg.size(); ++i) {
          if (StrictEquals(a, JsVal::Ref(arg.items()[i]))) return OwnNumber(~static_cast<int32_t>(i));
        }
        return OwnNumber(0);
      }
      if (arg.is_string()) {
        std::u16string hay = json::ToUtf16(arg.as_string());
        std::u16string needle = json::ToUtf16(ToStringJs(a));
        size_t pos = hay.find(needle);
        return OwnNumber(pos == std::u16string::npos ? 0 : ~static_cast<int32_t>(pos));
      }
      return TypeError("b.indexOf is not a function");
    }
    case Op::kType: return OwnString(TypeOf(a));
    case Op::kInt: {
      bool is_int = !a.undefined() && a->is_number() && std::isfinite(a->as_number()) &&
                    std::trunc(a->as_number()) == a->as_number();
      return OwnBool(is_int);
    }
    case Op::kMod: return OwnNumber(std::fmod(ToNumber(a), ToNumber(b)));
    case Op::kGet: {
      if (arg.is_string() && IsNullish(a)) {
        return TypeError("Cannot read properties of " + ToStringJs(a));
      }
      return PathGet(a, arg);
    }
  }
  return Undefined();
}

// An object of operators: and(and(f1, f2), f3)…, returning JavaScript &&'s value.
class OpsNode : public Node {
 public:
  void Add(Op op, const Value& arg) { ops_.emplace_back(op, &arg); }
  bool empty() const { return ops_.empty(); }
  Result<JsVal> Call(Ctx&, JsVal a, JsVal) const override {
    JsVal r;
    for (size_t i = 0; i < ops_.size(); ++i) {
      auto v = ApplyOp(ops_[i].first, a, *ops_[i].second);
      if (!v.ok()) return v;
      r = std::move(v).value();
      if (!Truthy(r)) return r;
    }
    return r;
  }

 private:
  std::vector<std::pair<Op, const Value*>> ops_;
};

enum class Red { kCount, kSum, kProduct, kMax, kMin, kCollect };

class ReduceOpNode : public Node {
 public:
  ReduceOpNode(Red r, NodePtr get) : red_(r), get_(std::move(get)) {}
  int arity() const override { return 2; }
  Result<JsVal> Call(Ctx& ctx, JsVal a, JsVal b) const override {
    auto got = Call1(ctx, *get_, std::move(b));
    if (!got.ok()) return got;
    JsVal v = std::move(got).value();
    switch (red_) {
      case Red::kCount: return OwnNumber((Truthy(a) ? ToNumber(a) : 0) + 1);
      case Red::kSum: {
        double x = ToNumber(a), y = ToNumber(v);
        return OwnNumber((std::isnan(x) || x == 0 ? 0 : x) + (std::isnan(y) || y == 0 ? 0 : y));
      }
      case Red::kProduct:
        return OwnNumber((Truthy(a) ? ToNumber(a) : 1) * (Truthy(v) ? ToNumber(v) : 1));
      case Red::kMax:
      case Red::kMin: {
        if (a.undefined()) return v;
        double x = ToNumber(a), y = ToNumber(v);
        if (std::isnan(x) || std::isnan(y)) return OwnNumber(NAN);
        if (red_ == Red::kMax) {
          // Math.max(-0, 0) is 0.
          return OwnNumber(x == y ? (std::signbit(x) ? y : x) : std::max(x, y));
        }
        return OwnNumber(x == y ? (std::signbit(x) ? x : y) : std::min(x, y));
      }
      case Red::kCollect: {
        if (!Truthy(a)) a = JsVal::Own(Value::Array());
        else if (!a->is_array()) {
          Value arr = Value::Array();
          arr.Push(a.Take());
          a = JsVal::Own(std::move(arr));
        }
        SSB_RETURN_IF_ERROR(ctx.Hold(1));
        a.Mutable()->Push(ToSlot(std::move(v)));
        return a;
      }
    }
    return Undefined();
  }

 private:
  Red red_;
  NodePtr get_;
};

// special.filter over a container: every rule holds for the value's field.
class FieldsFilterNode : public Node {
 public:
  void Add(std::string key, NodePtr n) { rules_.emplace_back(std::move(key), std::move(n)); }
  Result<JsVal> Call(Ctx& ctx, JsVal a, JsVal) const override {
    if (IsNullish(a)) return OwnBool(false);
    for (const auto& [k, rule] : rules_) {
      auto r = Call1(ctx, *rule, Get(a, k));
      if (!r.ok()) return r;
      if (!Truthy(*r)) return OwnBool(false);
    }
    return OwnBool(true);
  }

 private:
  std::vector<std::pair<std::string, NodePtr>> rules_;
};

// special.map over an object: a new object of the rules' results (`true`: the same field).
class FieldsMapNode : public Node {
 public:
  void Add(std::string key, bool same_field, NodePtr n) {
    rules_.push_back({std::move(key), same_field, std::move(n)});
  }
  Result<JsVal> Call(Ctx& ctx, JsVal a, JsVal) const override {
    if (IsNullish(a)) return Undefined();
    if (rules_.empty()) return Undefined();
    Value out = Value::Object();
    for (const auto& r : rules_) {
      JsVal v;
      if (r.same_field) {
        v = Get(a, r.key);
      } else {
        auto got = Call1(ctx, *r.rule, a);
        if (!got.ok()) return got;
        v = std::move(got).value();
      }
      if (!v.undefined()) out.Set(r.key, v.Take());
    }
    return JsVal::Own(std::move(out));
  }

 private:
  struct Rule {
    std::string key;
    bool same_field;
    NodePtr rule;
  };
  std::vector<Rule> rules_;
};

// special.reduce over an object: each field is a group value (a one-argument rule, set from the
// item) or an aggregate (a reduce, accumulated).
class FieldsReduceNode : public Node {
 public:
  void Add(std::string key, NodePtr n) { rules_.emplace_back(std::move(key), std::move(n)); }
  int arity() const override { return 2; }
  Result<JsVal> Call(Ctx& ctx, JsVal a, JsVal b) const override {
    // if(!a) a = {}; then every field is recomputed into a fresh object.
    if (!Truthy(a) || !a->is_object()) a = JsVal::Own(Value::Object());
    Value* acc = a.Mutable();
    Value out = Value::Object();
    for (const auto& [k, rule] : rules_) {
      JsVal v;
      if (rule->arity() == 1) {
        auto got = Call1(ctx, *rule, b);
        if (!got.ok()) return got;
        v = std::move(got).value();
      } else {
        JsVal prev;
        if (Value* p = acc->Find(k)) {
          prev = JsVal::Own(std::move(*p));
          acc->Erase(k);
        }
        auto got = rule->Call(ctx, std::move(prev), b);
        if (!got.ok()) return got;
        v = std::move(got).value();
      }
      if (!v.undefined()) out.Set(k, v.Take());
    }
    return JsVal::Own(std::move(out));
  }

 private:
  std::vector<std::pair<std::string, NodePtr>> rules_;
};

// arrayGroup: the accumulator is an array of group objects kept sorted (typewise) by their
// group values; each item updates its group or inserts a new one.
class GroupNode : public Node {
 public:
  GroupNode(std::vector<Value> sets, std::vector<const Node*> gets, NodePtr reduce)
      : sets_(std::move(sets)), gets_(std::move(gets)), reduce_(std::move(reduce)) {}
  int arity() const override { return 2; }
  Result<JsVal> Call(Ctx& ctx, JsVal a, JsVal b) const override {
    if (Truthy(a) && !a->is_array()) {
      auto first = reduce_->Call(ctx, JsVal::Own(Value::Array()), a);
      if (!first.ok()) return first;
      a = std::move(first).value();
    }
    if (!Truthy(a)) a = JsVal::Own(Value::Array());
    // The group reduce turned a non-array into an object: JavaScript's binary search finds no
    // length, and the insertion calls splice on the object, which throws.
    if (!a->is_array()) return TypeError("A.splice is not a function");
    std::vector<JsVal> needle;
    for (const Node* g : gets_) {
      auto v = Call1(ctx, *g, b);
      if (!v.ok()) return v;
      needle.push_back(std::move(v).value());
    }
    Value* arr = a.Mutable();
    // binary-search with _compare(hay, needle)
    int64_t lo = 0, hi = static_cast<int64_t>(arr->size()) - 1;
    int64_t found = -1;
    while (lo <= hi) {
      int64_t mid = lo + (hi - lo) / 2;
      JsVal hay = FromSlot(a, arr->items()[static_cast<size_t>(mid)]);
      int cmp = 0;
      for (size_t i = 0; i < sets_.size(); ++i) {
        auto x = PathGet(hay, sets_[i]);
        if (!x.ok()) return x.status();
        if (!StrictEquals(*x, needle[i])) {
          auto c = Typewise(*x, needle[i]);
          if (!c.ok()) return c.status();
          cmp = *c;
          break;
        }
      }
      if (cmp < 0) lo = mid + 1;
      else if (cmp > 0) hi = mid - 1;
      else {
        found = mid;
        break;
      }
    }
    if (found >= 0) {
      Value& slot = arr->items()[static_cast<size_t>(found)];
      JsVal prev = IsUndefinedMarker(slot) ? Undefined() : JsVal::Own(std::move(slot));
      auto r = reduce_->Call(ctx, std::move(prev), b);
      if (!r.ok()) return r;
      slot = ToSlot(std::move(r).value());
    } else {
      SSB_RETURN_IF_ERROR(ctx.Hold(1));
      auto r = reduce_->Call(ctx, Undefined(), b);
      if (!r.ok()) return r;
      arr->items().insert(arr->items().begin() + lo, ToSlot(std::move(r).value()));
    }
    return a;
  }

 private:
  std::vector<Value> sets_;
  std::vector<const Node*> gets_;  // owned by reduce_'s tree
  NodePtr reduce_;
};

// ---------------------------------------------------------------------------------------------
// Compilation (make.js).

bool IsDollarObject(const Value& v) {
  if (!v.is_object()) return false;
  for (const auto& k : v.keys())
    if (!k.empty() && k[0] == '$') return true;
  return false;
}

bool IsInteger(const Value& v) {
  return v.is_number() && std::isfinite(v.as_number()) && std::trunc(v.as_number()) == v.as_number();
}

bool IsBasic(const Value& v) { return v.is_string() || v.is_number() || v.is_bool() || v.is_null(); }

std::optional<Op> OpNamed(std::string_view k) {
  static const std::pair<const char*, Op> kOps[] = {
      {"$lt", Op::kLt},   {"$gt", Op::kGt},         {"$lte", Op::kLte},       {"$gte", Op::kGte},
      {"$eq", Op::kEq},   {"$ne", Op::kNe},         {"$not", Op::kNot},       {"$truthy", Op::kTruthy},
      {"$prefix", Op::kPrefix}, {"$is", Op::kIs},   {"$in", Op::kIn},         {"$type", Op::kType},
      {"$int", Op::kInt}, {"$mod", Op::kMod},       {"$get", Op::kGet}};
  for (const auto& [name, op] : kOps)
    if (k == name) return op;
  return std::nullopt;
}

std::optional<Red> ReduceNamed(std::string_view k) {
  static const std::pair<const char*, Red> kReds[] = {
      {"$count", Red::kCount}, {"$sum", Red::kSum}, {"$product", Red::kProduct},
      {"$max", Red::kMax},     {"$min", Red::kMin}, {"$collect", Red::kCollect}};
  for (const auto& [name, r] : kReds)
    if (k == name) return r;
  return std::nullopt;
}

Result<NodePtr> Make(const Value& rule);
Result<NodePtr> MakeFilter(const Value& rule);
Result<NodePtr> MakeMap(const Value& rule);
Result<NodePtr> MakeReduce(const Value& rule);

Status CouldNotProcess(const Value& rule) {
  std::string text = json::Stringify(rule);
  if (text.size() > 200) text = text.substr(0, 200) + "…";
  return Status::InvalidArgument("query: could not process:" + text);
}

Result<NodePtr> MakeSpecial(const std::string& name, const Value& arg) {
  if (name == "$filter") return MakeFilter(arg);
  if (name == "$map") return MakeMap(arg);
  return MakeReduce(arg);
}

Result<NodePtr> Make(const Value& rule) {
  // isBasicMap
  if (rule.is_string()) return NodePtr(new GetKeyNode(rule.as_string()));
  if (IsInteger(rule)) return NodePtr(new GetIndexNode(rule.as_number()));
  if (rule.is_bool() && rule.as_bool()) return NodePtr(new IdentityNode());
  // isArrayCompose
  if (rule.is_array()) {
    std::vector<NodePtr> rules;
    for (const Value& r : rule.items()) {
      auto n = Make(r);
      if (!n.ok()) return n;
      rules.push_back(std::move(n).value());
    }
    return NodePtr(new ComposeNode(std::move(rules)));
  }
  if (rule.is_object()) {
    // isMap
    auto ops = std::make_unique<OpsNode>();
    for (size_t i = 0; i < rule.size(); ++i) {
      if (auto op = OpNamed(rule.keys()[i])) ops->Add(*op, rule.items()[i]);
    }
    if (!ops->empty()) return NodePtr(std::move(ops));
    // isReduce, then isSpecial: the first key that names one.
    for (size_t i = 0; i < rule.size(); ++i) {
      if (auto r = ReduceNamed(rule.keys()[i])) {
        auto get = Make(rule.items()[i]);
        if (!get.ok()) return get;
        return NodePtr(new ReduceOpNode(*r, std::move(get).value()));
      }
    }
    for (size_t i = 0; i < rule.size(); ++i) {
      const std::string& k = rule.keys()[i];
      if (k == "$filter" || k == "$map" || k == "$reduce") return MakeSpecial(k, rule.items()[i]);
    }
  }
  return CouldNotProcess(rule);
}

Result<NodePtr> MakeFilter(const Value& rule) {
  if ((rule.is_array() || rule.is_object()) && !IsDollarObject(rule)) {
    auto node = std::make_unique<FieldsFilterNode>();
    for (size_t i = 0; i < rule.size(); ++i) {
      auto n = MakeFilter(rule.items()[i]);
      if (!n.ok()) return n;
      node->Add(rule.is_array() ? std::to_string(i) : rule.keys()[i], std::move(n).value());
    }
    return NodePtr(std::move(node));
  }
  if (IsBasic(rule)) return NodePtr(new LiteralNode(rule));
  return Make(rule);
}

Result<NodePtr> MakeMap(const Value& rule) {
  if (rule.is_object() && !IsDollarObject(rule)) {
    auto node = std::make_unique<FieldsMapNode>();
    for (size_t i = 0; i < rule.size(); ++i) {
      const Value& r = rule.items()[i];
      auto n = MakeMap(r);
      if (!n.ok()) return n;
      node->Add(rule.keys()[i], r.is_bool() && r.as_bool(), std::move(n).value());
    }
    return NodePtr(std::move(node));
  }
  return Make(rule);
}

Result<NodePtr> MakeReduceTree(const Value& rule, const Value& path, std::vector<Value>* sets,
                               std::vector<const Node*>* gets) {
  if (rule.is_object() && !IsDollarObject(rule)) {
    auto node = std::make_unique<FieldsReduceNode>();
    for (size_t i = 0; i < rule.size(); ++i) {
      Value sub = path;
      sub.Push(Value::String(rule.keys()[i]));
      auto n = MakeReduceTree(rule.items()[i], sub, sets, gets);
      if (!n.ok()) return n;
      node->Add(rule.keys()[i], std::move(n).value());
    }
    return NodePtr(std::move(node));
  }
  auto fn = Make(rule);
  if (!fn.ok()) return fn;
  if ((*fn)->arity() == 1) {
    gets->push_back(fn->get());
    sets->push_back(path.size() == 1 ? path.items()[0] : path);
  }
  return fn;
}

Result<NodePtr> MakeReduce(const Value& rule) {
  std::vector<Value> sets;
  std::vector<const Node*> gets;
  auto tree = MakeReduceTree(rule, Value::Array(), &sets, &gets);
  if (!tree.ok()) return tree;
  if (gets.empty()) return tree;
  return NodePtr(new GroupNode(std::move(sets), std::move(gets), std::move(tree).value()));
}

Status CheckSize(const Value& v, const Limits& limits, uint32_t depth, size_t* nodes) {
  if (depth > limits.max_depth) {
    return Status::LimitExceeded("query nests deeper than " + std::to_string(limits.max_depth));
  }
  if (++*nodes > limits.max_nodes) {
    return Status::LimitExceeded("query has more than " + std::to_string(limits.max_nodes) +
                                 " values");
  }
  for (const Value& c : v.items()) SSB_RETURN_IF_ERROR(CheckSize(c, limits, depth + 1, nodes));
  return Status::Ok();
}

// libnested's get, which $sort uses: a basic path reads one property of an object or array,
// an array path walks until a nullish value.
JsVal NestedGet(const JsVal& obj, const Value& path) {
  if (IsNullish(obj) || !(obj->is_object() || obj->is_array())) return Undefined();
  if (!path.is_array()) return Get(obj, PropertyKey(JsVal::Ref(path)));
  JsVal cur = obj;
  for (const Value& p : path.items()) {
    cur = Get(cur, PropertyKey(JsVal::Ref(p)));
    if (IsNullish(cur)) return Undefined();
  }
  return cur;
}

bool IsSync(const Value& v) {
  if (!v.is_object() || v.size() != 1) return false;
  const Value* s = v.Find("sync");
  return s && s->is_bool() && s->as_bool();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

enum class StageKind { kFilter, kMap, kReduce, kSort };

struct Query::Stage {
  StageKind kind;
  Value rule;     // the stage object (kept: literal rules point into it)
  NodePtr fn;     // kFilter, kMap, kReduce
  Value paths;    // kSort
};

Query::Query() = default;
Query::~Query() = default;
Query::Query(Query&&) noexcept = default;
Query& Query::operator=(Query&&) noexcept = default;

const json::Value* Query::first_filter() const { return has_first_filter_ ? &first_filter_ : nullptr; }
bool Query::blocking() const {
  for (const auto& s : stages_)
    if (s->kind == StageKind::kReduce || s->kind == StageKind::kSort) return true;
  return false;
}
size_t Query::stage_count() const { return stages_.size(); }
const Limits& Query::limits() const { return limits_; }

Result<Query> Query::Parse(const json::Value& query, const Limits& limits) {
  size_t nodes = 0;
  SSB_RETURN_IF_ERROR(CheckSize(query, limits, 0, &nodes));
  Query q;
  q.limits_ = limits;
  std::vector<const Value*> stages;
  if (query.is_array()) {
    for (const Value& s : query.items())
      if (Truthy(JsVal::Ref(s))) stages.push_back(&s);  // q.filter(Boolean)
  } else {
    stages.push_back(&query);
  }
  if (stages.size() > limits.max_stages) {
    return Status::LimitExceeded("query has more than " + std::to_string(limits.max_stages) +
                                 " stages");
  }
  for (const Value* s : stages) {
    // get(q): the first key names the stage.
    std::string first;
    if (s->is_object() && s->size() > 0) first = s->keys()[0];
    else if (s->is_array() && s->size() > 0) first = "0";
    else if (s->is_string() && !s->as_string().empty()) first = "0";
    if (first.empty()) {
      return Status::InvalidArgument("query: a stage must be an object such as {\"$filter\": …}");
    }
    auto stage = std::make_unique<Stage>();
    stage->rule = *s;
    if (first == "$filter") stage->kind = StageKind::kFilter;
    else if (first == "$map") stage->kind = StageKind::kMap;
    else if (first == "$reduce") stage->kind = StageKind::kReduce;
    else if (first == "$sort") stage->kind = StageKind::kSort;
    else return Status::InvalidArgument("query: unknown function:" + first);
    if (stage->kind == StageKind::kSort) {
      const Value* p = stage->rule.Find("$sort");
      if (!p->is_array()) return Status::InvalidArgument("query: $sort takes an array of paths");
      stage->paths = *p;
    } else {
      // make(q) on the stage object itself, as the JavaScript does.
      auto fn = Make(stage->rule);
      if (!fn.ok()) return fn.status();
      stage->fn = std::move(fn).value();
    }
    q.stages_.push_back(std::move(stage));
  }
  if (query.is_array() && query.size() > 0 && query.items()[0].is_object()) {
    if (const Value* f = query.items()[0].Find("$filter")) {
      q.first_filter_ = *f;
      q.has_first_filter_ = true;
    }
  }
  return q;
}

struct Runner::State {
  const Query* query;
  Ctx ctx;
  std::vector<JsVal> acc;                 // per stage: reduce accumulators
  std::vector<std::vector<Value>> sorted;  // per stage: items a $sort holds
  bool failed = false;
};

Runner::Runner(const Query& query) : state_(std::make_unique<State>()) {
  state_->query = &query;
  state_->ctx.max_held = query.limits().max_held;
  state_->acc.resize(query.stages_.size());
  for (auto& a : state_->acc) a = JsVal::Own(Value());  // pull.reduce's initial null
  state_->sorted.resize(query.stages_.size());
}
Runner::~Runner() = default;
Runner::Runner(Runner&&) noexcept = default;

namespace {

// Runs `item` through stages [from, end); appends what comes out.
Status RunFrom(const std::vector<std::unique_ptr<Query::Stage>>& stages, size_t from, Ctx& ctx,
               std::vector<JsVal>& acc, std::vector<std::vector<Value>>& sorted, JsVal item,
               std::vector<Value>* out) {
  for (size_t i = from; i < stages.size(); ++i) {
    const Query::Stage& s = *stages[i];
    if (!item.undefined() && IsSync(*item)) continue;  // passSync
    switch (s.kind) {
      case StageKind::kFilter: {
        auto keep = Call1(ctx, *s.fn, item);
        if (!keep.ok()) return keep.status();
        if (!Truthy(*keep)) return Status::Ok();
        break;
      }
      case StageKind::kMap: {
        auto mapped = Call1(ctx, *s.fn, std::move(item));
        if (!mapped.ok()) return mapped.status();
        item = std::move(mapped).value();
        if (!Truthy(item)) return Status::Ok();  // pull.filter() drops falsy results
        break;
      }
      case StageKind::kReduce: {
        auto r = s.fn->Call(ctx, std::move(acc[i]), std::move(item));
        if (!r.ok()) return r.status();
        acc[i] = std::move(r).value();
        return Status::Ok();
      }
      case StageKind::kSort:
        SSB_RETURN_IF_ERROR(ctx.Hold(1));
        sorted[i].push_back(item.Take());
        return Status::Ok();
    }
  }
  Value v = item.undefined() ? Value() : item.Take();
  Finalize(&v);
  out->push_back(std::move(v));
  return Status::Ok();
}

}  // namespace

Status Runner::Push(const json::Value& item, std::vector<json::Value>* out) {
  State& st = *state_;
  if (st.failed) return Status::InvalidArgument("query: the runner failed before");
  Status s = RunFrom(st.query->stages_, 0, st.ctx, st.acc, st.sorted, JsVal::Ref(item), out);
  if (!s.ok()) st.failed = true;
  return s;
}

Status Runner::Finish(std::vector<json::Value>* out) {
  State& st = *state_;
  const auto& stages = st.query->stages_;
  for (size_t i = 0; i < stages.size(); ++i) {
    std::vector<JsVal> emit;
    if (stages[i]->kind == StageKind::kReduce) {
      // pull.flatten of the result: an array or object gives its values, null nothing, any
      // other value itself.
      JsVal r = std::move(st.acc[i]);
      if (!IsNullish(r)) {
        if (r->is_array() || r->is_object()) {
          for (const Value& v : r->items()) {
            if (!IsUndefinedMarker(v)) emit.push_back(JsVal::Own(v));
          }
        } else {
          emit.push_back(std::move(r));
        }
      }
    } else if (stages[i]->kind == StageKind::kSort) {
      // compare-at-paths over typewise compare; a {$reverse: path} reverses it and every path
      // after it.
      const Value& paths = stages[i]->paths;
      Status err;
      auto& items = st.sorted[i];
      std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
        int reverse = 1, r = 0;
        for (const Value& p : paths.items()) {
          const Value* path = &p;
          if (p.is_object()) {
            if (const Value* rev = p.Find("$reverse"); rev && Truthy(JsVal::Ref(*rev))) {
              path = rev;
              reverse = -1;
            }
          }
          JsVal x = NestedGet(JsVal::Ref(a), *path), y = NestedGet(JsVal::Ref(b), *path);
          auto c = Typewise(x, y);
          if (!c.ok()) {
            if (err.ok()) err = c.status();
            return false;
          }
          r = *c;
          if (r != 0) return r * reverse < 0;
        }
        return false;
      });
      SSB_RETURN_IF_ERROR(err);
      for (auto& v : items) emit.push_back(JsVal::Own(std::move(v)));
      items.clear();
    } else {
      continue;
    }
    for (auto& v : emit) {
      if (v.undefined()) continue;
      Status s = RunFrom(stages, i + 1, st.ctx, st.acc, st.sorted, std::move(v), out);
      if (!s.ok()) {
        st.failed = true;
        return s;
      }
    }
  }
  return Status::Ok();
}

Result<std::vector<json::Value>> Run(const Query& query, const std::vector<json::Value>& items) {
  Runner r(query);
  std::vector<json::Value> out;
  for (const auto& item : items) SSB_RETURN_IF_ERROR(r.Push(item, &out));
  SSB_RETURN_IF_ERROR(r.Finish(&out));
  return out;
}

}  // namespace ssb::mfr
