#include "verifier/signature/notation/cbor.h"

#include <limits>

namespace imagegate::verifier::notation::cbor {
namespace {

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  Result<Value> item(int depth) {
    if (depth > kMaxDepth) return resource_exhausted("CBOR: nested deeper than " + std::to_string(kMaxDepth));
    if (++items_ > kMaxItems) return resource_exhausted("CBOR: more than " + std::to_string(kMaxItems) + " items");
    if (pos_ >= bytes_.size()) return invalid_argument("CBOR: truncated");
    const auto initial = static_cast<unsigned char>(bytes_[pos_++]);
    const unsigned major = initial >> 5;
    const unsigned info = initial & 0x1f;
    std::uint64_t arg = 0;
    if (auto s = argument(info, major, arg); !s) return s.error();
    Value v;
    switch (major) {
      case 0: v.type = Value::Type::unsigned_int; v.number = arg; return v;
      case 1: v.type = Value::Type::negative_int; v.number = arg; return v;
      case 2:
      case 3: {
        if (arg > bytes_.size() - pos_) return invalid_argument("CBOR: string longer than the input");
        v.type = major == 2 ? Value::Type::bytes : Value::Type::text;
        v.string.assign(bytes_.substr(pos_, static_cast<std::size_t>(arg)));
        pos_ += static_cast<std::size_t>(arg);
        return v;
      }
      case 4: {
        // Each element takes at least one byte: a count past the input is refused before reserving.
        if (arg > bytes_.size() - pos_) return invalid_argument("CBOR: array longer than the input");
        v.type = Value::Type::array;
        for (std::uint64_t i = 0; i < arg; ++i) {
          auto e = item(depth + 1);
          if (!e) return e.error();
          v.items.push_back(std::move(*e));
        }
        return v;
      }
      case 5: {
        if (arg > (bytes_.size() - pos_) / 2) return invalid_argument("CBOR: map longer than the input");
        v.type = Value::Type::map;
        for (std::uint64_t i = 0; i < arg; ++i) {
          auto k = item(depth + 1);
          if (!k) return k.error();
          auto e = item(depth + 1);
          if (!e) return e.error();
          v.entries.emplace_back(std::move(*k), std::move(*e));
        }
        return v;
      }
      case 6: {
        v.type = Value::Type::tag;
        v.number = arg;
        auto e = item(depth + 1);
        if (!e) return e.error();
        v.items.push_back(std::move(*e));
        return v;
      }
      default:  // 7: simple values; floats (info 25-27) are refused by argument()
        v.type = Value::Type::simple;
        v.number = arg;
        return v;
    }
  }

  bool at_end() const { return pos_ == bytes_.size(); }

 private:
  Status argument(unsigned info, unsigned major, std::uint64_t& arg) {
    if (info < 24) {
      arg = info;
      return Ok{};
    }
    if (info == 31) return invalid_argument("CBOR: indefinite-length items are not accepted");
    if (info > 27) return invalid_argument("CBOR: reserved additional information");
    if (major == 7 && info > 24) return invalid_argument("CBOR: floating-point values are not accepted");
    const std::size_t n = std::size_t{1} << (info - 24);
    if (n > bytes_.size() - pos_) return invalid_argument("CBOR: truncated");
    arg = 0;
    for (std::size_t i = 0; i < n; ++i) arg = (arg << 8) | static_cast<unsigned char>(bytes_[pos_ + i]);
    pos_ += n;
    return Ok{};
  }

  std::string_view bytes_;
  std::size_t pos_ = 0;
  std::size_t items_ = 0;
};

}  // namespace

bool Value::as_int(std::int64_t& out) const {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (type == Type::unsigned_int && number <= kMax) {
    out = static_cast<std::int64_t>(number);
    return true;
  }
  if (type == Type::negative_int && number <= kMax) {
    out = -1 - static_cast<std::int64_t>(number);
    return true;
  }
  return false;
}

const Value* Value::find(std::int64_t label) const {
  for (const auto& [k, v] : entries) {
    std::int64_t n = 0;
    if (k.as_int(n) && n == label) return &v;
  }
  return nullptr;
}

const Value* Value::find(std::string_view label) const {
  for (const auto& [k, v] : entries) {
    if (k.is_text(label)) return &v;
  }
  return nullptr;
}

Result<Value> decode(std::string_view bytes) {
  Reader reader(bytes);
  auto v = reader.item(1);
  if (!v) return v.error();
  if (!reader.at_end()) return invalid_argument("CBOR: trailing bytes after the item");
  return v;
}

void encode_head(std::string& out, unsigned major, std::uint64_t argument) {
  const auto type = static_cast<char>(major << 5);
  if (argument < 24) {
    out.push_back(static_cast<char>(type | static_cast<char>(argument)));
    return;
  }
  int n = argument <= 0xff ? 1 : argument <= 0xffff ? 2 : argument <= 0xffffffffULL ? 4 : 8;
  out.push_back(static_cast<char>(type | static_cast<char>(n == 1 ? 24 : n == 2 ? 25 : n == 4 ? 26 : 27)));
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<char>((argument >> (8 * i)) & 0xff));
}

}  // namespace imagegate::verifier::notation::cbor
