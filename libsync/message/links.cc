// ssb-msgs 5 indexLinks, as ssb-db 20's links index and ssb-links 3 (links2) use it.
#include "ssb/links.h"

#include <locale.h>
#include <wctype.h>

#include "ssb/ref.h"

namespace ssb {
namespace {

using json::Value;

bool Truthy(const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull: return false;
    case Value::Type::kBool: return v.as_bool();
    case Value::Type::kNumber: return v.as_number() != 0 && v.as_number() == v.as_number();
    case Value::Type::kString: return !v.as_string().empty();
    default: return true;
  }
}

// toMsgContent: the content object inside a message, KVT or value, by duck typing.
const Value& ToMsgContent(const Value& obj) {
  auto has_type = [](const Value* c) {
    const Value* t = c && c->is_object() ? c->Find("type") : nullptr;
    return t && Truthy(*t);
  };
  if (const Value* v = obj.Find("value"); v && Truthy(*v)) {
    if (const Value* c = v->Find("content"); c && Truthy(*c) && has_type(c)) return *c;
  }
  if (const Value* c = obj.Find("content"); c && Truthy(*c) && has_type(c)) return *c;
  return obj;
}

// One link found: the link object (a string link becomes {link: s}) and its field.
struct Found {
  Value ln;
  std::string rel;
};

// traverse + the isLink test of indexLinks.
std::vector<Found> Walk(const Value& obj) {
  std::vector<Found> out;
  if (!obj.is_object()) return out;
  auto each = [&](const Value& v, const std::string& k) {
    const Value* r = nullptr;
    if (v.is_string()) r = &v;
    else if (v.is_object()) r = v.Find("link");
    if (!r || !r->is_string() || !IsLink(r->as_string())) return;
    if (v.is_string()) {
      Value ln = Value::Object();
      ln.Set("link", v);
      out.push_back({std::move(ln), k});
    } else {
      out.push_back({v, k});
    }
  };
  for (size_t i = 0; i < obj.size(); ++i) {
    const Value& v = obj.items()[i];
    const std::string& k = obj.keys()[i];
    if (!Truthy(v)) continue;
    if (v.is_array()) {
      for (const Value& e : v.items()) each(e, k);
      continue;
    }
    if (v.is_object()) {
      // An array-like object ({"0": …, "1": …}) counts as an array.
      std::vector<const Value*> like;
      for (uint32_t n = 0;; ++n) {
        const Value* e = v.Find(std::to_string(n));
        if (!e || !Truthy(*e)) break;
        like.push_back(e);
      }
      if (!like.empty()) {
        for (const Value* e : like) each(*e, k);
        continue;
      }
    }
    each(v, k);
  }
  return out;
}

// String.prototype.toLowerCase, code point by code point.
std::string ToLower(const std::string& s) {
  static locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
  std::u16string u = json::ToUtf16(s);
  std::u16string out;
  for (size_t i = 0; i < u.size(); ++i) {
    uint32_t cp = u[i];
    if (cp >= 0xD800 && cp < 0xDC00 && i + 1 < u.size() && u[i + 1] >= 0xDC00 && u[i + 1] < 0xE000) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (u[i + 1] - 0xDC00);
      ++i;
    }
    uint32_t lower = cp;
    if (cp < 0x80) {
      if (cp >= 'A' && cp <= 'Z') lower = cp + 32;
    } else if (utf8 && !(cp >= 0xD800 && cp < 0xE000)) {
      lower = static_cast<uint32_t>(towlower_l(static_cast<wint_t>(cp), utf8));
    }
    if (lower >= 0x10000) {
      lower -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (lower >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (lower & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(lower));
    }
  }
  return json::FromUtf16(out);
}

// ssb-links' noObjects: objects inside the rel become their JSON text.
Value NoObjects(const Value& v) {
  if (v.is_array()) {
    Value a = Value::Array();
    for (const Value& e : v.items()) a.Push(NoObjects(e));
    return a;
  }
  if (v.is_object()) return Value::String(json::Stringify(v));
  return v;
}

Value Field(const Value& obj, const char* key) {
  const Value* v = obj.is_object() ? obj.Find(key) : nullptr;
  return v ? *v : Value();  // undefined is written as null in the index's JSON
}

// ssb-links' rel array for one link.
std::string Rel2(const Found& f, const Value& content) {
  Value rel = Value::Array();
  rel.Push(Value::String(f.rel));
  const std::string& dest = f.ln.Find("link")->as_string();
  if (f.rel == "vote") {
    rel.Push(Field(f.ln, "value"));
  } else if (f.rel == "flag") {
    rel.Push(Field(f.ln, "reason"));
  } else if (f.rel == "mentions") {
    if (dest[0] == '@') {
      const Value* name = f.ln.Find("name");
      std::string n = name && name->is_string() ? name->as_string() : "";
      rel.Push(Value::String("@" + ToLower(n)));
    } else if (dest[0] == '&') {
      const Value* filename = f.ln.Find("filename");
      rel.Push(filename && Truthy(*filename) ? *filename : Field(f.ln, "name"));
      rel.Push(Field(f.ln, "size"));
    }
  } else if (f.rel == "about") {
    if (const Value* name = content.is_object() ? content.Find("name") : nullptr;
        name && name->is_string()) {
      rel.Push(*name);
    }
  } else if (f.rel == "image") {
    rel.Push(Field(f.ln, "type"));
    rel.Push(Field(f.ln, "size"));
  } else if (f.rel == "contact") {
    rel.Push(Field(content, "following"));
    rel.Push(Field(content, "blocking"));
  }
  return json::Stringify(NoObjects(rel));
}

}  // namespace

std::vector<MessageLink> ExtractLinks(const json::Value& value, const json::Value& content) {
  // ssb-db: indexLinks(content) when the content is readable.
  std::vector<Found> db;
  if (content.is_object()) db = Walk(ToMsgContent(content));
  // ssb-links: indexLinks(value), with the readable content in place.
  std::vector<Found> links2;
  const Value* own = value.Find("content");
  if (content.is_object() && own && !own->is_object()) {
    Value readable = value;
    readable.Set("content", content);
    links2 = Walk(ToMsgContent(readable));
  } else {
    links2 = Walk(ToMsgContent(value));
  }
  std::vector<MessageLink> out;
  bool same = db.size() == links2.size();
  for (size_t i = 0; same && i < db.size(); ++i) {
    same = db[i].rel == links2[i].rel && db[i].ln == links2[i].ln;
  }
  for (const Found& f : links2) {
    out.push_back({f.ln.Find("link")->as_string(), f.rel, Rel2(f, content), same, true});
  }
  if (!same) {
    for (const Found& f : db) {
      out.push_back({f.ln.Find("link")->as_string(), f.rel, Rel2(f, content), true, false});
    }
  }
  return out;
}

}  // namespace ssb
