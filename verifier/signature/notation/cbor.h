// Internal to verifier/signature/notation/: a bounded CBOR (RFC 8949) decoder for COSE_Sign1 envelopes, and
// the one encoding COSE needs (the Sig_structure). Definite lengths only (indefinite-length items are
// refused), at most kMaxDepth nested containers and kMaxItems items per document, every length checked
// against the bytes left before anything is allocated. Floats are refused (COSE headers never use them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace imagegate::verifier::notation::cbor {

inline constexpr int kMaxDepth = 16;
inline constexpr std::size_t kMaxItems = 4096;

struct Value {
  enum class Type { unsigned_int, negative_int, bytes, text, array, map, tag, simple };
  Type type = Type::simple;
  std::uint64_t number = 0;  // unsigned_int: the value; negative_int: -1 - value; tag: the tag; simple: its value
  std::string string;        // bytes, text
  std::vector<Value> items;  // array elements; tag: its one item
  std::vector<std::pair<Value, Value>> entries;  // map

  bool is_int() const { return type == Type::unsigned_int || type == Type::negative_int; }
  // The integer as int64, when it fits (nullopt-like: `ok` false otherwise).
  bool as_int(std::int64_t& out) const;
  bool is_text(std::string_view text) const { return type == Type::text && string == text; }
  // The map entry whose key is the integer `label` or the text `label`; nullptr when absent.
  const Value* find(std::int64_t label) const;
  const Value* find(std::string_view label) const;
};

// Decodes exactly one item filling `bytes`. invalid_argument "CBOR: ..." on malformed or trailing input,
// resource_exhausted past the depth or item limits.
Result<Value> decode(std::string_view bytes);

// Appends the head of a major type with its argument (RFC 8949 §3), shortest form.
void encode_head(std::string& out, unsigned major, std::uint64_t argument);

}  // namespace imagegate::verifier::notation::cbor
