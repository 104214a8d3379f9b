// TUF / Notary v1 metadata: parsing the documents notary writes
// (https://github.com/notaryproject/notary/blob/master/docs/resources/tuf_structure.md) and canonical JSON.
// The checks of the TUF client workflow are in tuf_checks.cc, the trust chain in tuf_trust_chain.cc.
#include "verifier/signature/notary_v1/tuf.h"
#include "verifier/image/scan_verdict.h"
#include "common/json_bounded.h"
#include "common/text.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>

#include <nlohmann/json.hpp>

namespace imagegate::verifier::tuf {
namespace {

using nlohmann::json;

Result<json> parse_json(std::string_view text) {
  if (text.size() > kMaxMetadataBytes) {
    return resource_exhausted("metadata is " + std::to_string(text.size()) + " bytes, more than the limit of " +
                              std::to_string(kMaxMetadataBytes));
  }
  auto doc = parse_json_bounded(text, JsonLimits{kMaxMetadataBytes, kMaxJsonDepth, kMaxJsonValues});
  if (!doc) return Error{doc.error().code, "metadata: " + doc.error().message};
  return doc;
}

// OLPC canonical JSON: only '"' and '\' are escaped; every other byte is written as is.
bool encode_canonical(const json& j, std::string& out) {
  switch (j.type()) {
    case json::value_t::null:
      out += "null";
      return true;
    case json::value_t::boolean:
      out += j.get<bool>() ? "true" : "false";
      return true;
    case json::value_t::number_integer:
      out += std::to_string(j.get<std::int64_t>());
      return true;
    case json::value_t::number_unsigned:
      out += std::to_string(j.get<std::uint64_t>());
      return true;
    case json::value_t::string: {
      out += '"';
      for (char c : j.get_ref<const std::string&>()) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
      return true;
    }
    case json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& e : j) {
        if (!first) out += ',';
        first = false;
        if (!encode_canonical(e, out)) return false;
      }
      out += ']';
      return true;
    }
    case json::value_t::object: {
      // nlohmann's object is a std::map: keys already in byte order (char_traits compares as unsigned).
      out += '{';
      bool first = true;
      for (const auto& [k, v] : j.items()) {
        if (!first) out += ',';
        first = false;
        encode_canonical(json(k), out);
        out += ':';
        if (!encode_canonical(v, out)) return false;
      }
      out += '}';
      return true;
    }
    default:
      return false;  // floats, binary, discarded
  }
}

Result<std::string> canonical(const json& j) {
  std::string out;
  if (!encode_canonical(j, out)) return invalid_argument("metadata holds a value canonical JSON cannot encode (a non-integer number)");
  return out;
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

// Field accessors that never throw: a missing or mistyped field is an invalid_argument naming it.
Result<const json*> field(const json& obj, const char* name, json::value_t type, std::string_view where) {
  if (!obj.is_object()) return invalid_argument(std::string(where) + " is not an object");
  auto it = obj.find(name);
  if (it == obj.end()) return invalid_argument(std::string(where) + ": missing \"" + name + "\"");
  const bool ok = type == json::value_t::number_unsigned ? it->is_number_unsigned() : it->type() == type;
  if (!ok) return invalid_argument(std::string(where) + ": \"" + name + "\" has the wrong type");
  return &*it;
}

Result<std::string> string_field(const json& obj, const char* name, std::string_view where) {
  auto f = field(obj, name, json::value_t::string, where);
  if (!f) return f.error();
  return (*f)->get<std::string>();
}

Result<std::uint64_t> uint_field(const json& obj, const char* name, std::string_view where) {
  auto f = field(obj, name, json::value_t::number_unsigned, where);
  if (!f) return f.error();
  return (*f)->get<std::uint64_t>();
}

// Digests are base64 in notary and hex in TUF 1.0: the length of the text tells which.
std::optional<std::string> decode_digest(std::string_view algorithm, std::string_view text) {
  std::size_t size = algorithm == "sha256" ? 32 : algorithm == "sha512" ? 64 : algorithm == "sha384" ? 48 : 0;
  if (size == 0) return std::nullopt;
  if (text.size() == size * 2 && is_hex(text)) {
    auto raw = hex_decode(text);
    if (raw) return std::move(*raw);
  }
  auto raw = base64_decode(text);
  if (raw && raw->size() == size) return std::move(*raw);
  return std::nullopt;
}

Result<std::map<std::string, std::string>> parse_hashes(const json& j, std::string_view where) {
  if (!j.is_object()) return invalid_argument(std::string(where) + ": hashes is not an object");
  std::map<std::string, std::string> out;
  for (const auto& [alg, value] : j.items()) {
    if (!value.is_string()) return invalid_argument(std::string(where) + ": hash " + alg + " is not a string");
    auto raw = decode_digest(alg, value.get_ref<const std::string&>());
    if (raw) {
      out[alg] = std::move(*raw);
    } else if (alg == "sha256" || alg == "sha512" || alg == "sha384") {
      return invalid_argument(std::string(where) + ": hash " + alg + " is not a digest");
    }
  }
  return out;
}

Result<FileMeta> parse_file_meta(const json& j, std::string_view where) {
  if (!j.is_object()) return invalid_argument(std::string(where) + " is not an object");
  FileMeta meta;
  if (auto it = j.find("length"); it != j.end()) {
    if (!it->is_number_unsigned()) return invalid_argument(std::string(where) + ": length is not a count");
    meta.length = it->get<std::uint64_t>();
  }
  if (auto it = j.find("version"); it != j.end() && it->is_number_unsigned()) meta.version = it->get<std::uint64_t>();
  if (auto it = j.find("hashes"); it != j.end()) {
    auto hashes = parse_hashes(*it, where);
    if (!hashes) return hashes.error();
    meta.hashes = std::move(*hashes);
  }
  return meta;
}

// ed25519 public keys are raw 32 bytes in metadata; crypto.h takes SubjectPublicKeyInfo DER.
std::string ed25519_spki(std::string_view raw) {
  static constexpr unsigned char kPrefix[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
  return std::string(reinterpret_cast<const char*>(kPrefix), sizeof kPrefix) + std::string(raw);
}

// Parses the key's public value. A failure leaves the key unusable rather than failing the document.
void load_key(Key& key, std::string_view public_value) {
  const std::string& t = key.type;
  if (t == "ecdsa-x509" || t == "rsa-x509") {
    auto pem = base64_decode(public_value);
    if (!pem) return;
    auto cert = Certificate::from_pem(*pem);
    if (!cert) return;
    key.key = cert->public_key();
  } else if (t == "ed25519") {
    std::optional<std::string> raw;
    if (public_value.size() == 64 && is_hex(public_value)) {
      if (auto r = hex_decode(public_value)) raw = std::move(*r);
    } else if (auto r = base64_decode(public_value)) {
      raw = std::move(*r);
    }
    if (!raw || raw->size() != 32) return;
    auto k = PublicKey::from_der(ed25519_spki(*raw));
    if (!k) return;
    key.key = std::move(*k);
  } else if (t == "ecdsa" || t == "rsa" || t == "ecdsa-sha2-nistp256" || t == "ecdsa-sha2-nistp384") {
    if (public_value.substr(0, 10) == "-----BEGIN") {
      auto k = PublicKey::from_pem(public_value);
      if (!k) return;
      key.key = std::move(*k);
    } else {
      auto der = base64_decode(public_value);
      if (!der) return;
      auto k = PublicKey::from_der(*der);
      if (!k) return;
      key.key = std::move(*k);
    }
  } else {
    return;
  }
  // The key's type must match what was parsed: an "ed25519" entry holding an RSA key is not usable.
  const KeyType kt = key.key->type();
  const bool ec = kt == KeyType::ecdsa_p256 || kt == KeyType::ecdsa_p384 || kt == KeyType::ecdsa_p521;
  const bool fits = (t.rfind("ecdsa", 0) == 0 && ec) || (t.rfind("rsa", 0) == 0 && kt == KeyType::rsa) ||
                    (t == "ed25519" && kt == KeyType::ed25519);
  if (!fits) {
    key.key.reset();
    return;
  }
  key.usable = true;
  // notary's canonical id of the bare public key (what `notary key list` prints for a certificate key).
  const std::string bare_type = t == "rsa-x509" ? "rsa" : t == "ecdsa-x509" ? "ecdsa" : t;
  json bare = {{"keytype", bare_type},
               {"keyval", {{"private", nullptr}, {"public", base64_encode(key.key->spki_der())}}}};
  if (auto c = canonical(bare)) key.public_key_id = sha256_hex(*c);
}

Result<std::map<std::string, Key>> parse_keys(const json& j, std::string_view where) {
  if (j.is_null()) return std::map<std::string, Key>{};
  if (!j.is_object()) return invalid_argument(std::string(where) + ": keys is not an object");
  if (j.size() > kMaxKeys) return resource_exhausted(std::string(where) + ": too many keys");
  std::map<std::string, Key> keys;
  for (const auto& [id, value] : j.items()) {
    Key key;
    key.id = id;
    auto type = string_field(value, "keytype", where);
    if (!type) return type.error();
    key.type = *type;
    if (auto s = value.find("scheme"); s != value.end() && s->is_string()) key.scheme = s->get<std::string>();
    auto keyval = field(value, "keyval", json::value_t::object, where);
    if (!keyval) return keyval.error();
    auto pub = string_field(**keyval, "public", where);
    if (!pub) return pub.error();
    load_key(key, *pub);
    // notary's key id is the sha256 of the key's canonical JSON: a key listed under an id that is not its
    // own is not used. TUF 1.0 leaves key ids to the repository (Sigstore's are not such hashes); those
    // keys carry a "scheme", notary's never do.
    auto c = canonical(value);
    if (key.scheme.empty() && (!c || sha256_hex(*c) != ascii_lower(id))) {
      key.usable = false;
      key.key.reset();
    }
    keys.emplace(id, std::move(key));
  }
  return keys;
}

Result<RoleKeys> parse_role_keys(const json& j, std::string_view where) {
  RoleKeys role;
  auto ids = field(j, "keyids", json::value_t::array, where);
  if (!ids) return ids.error();
  if ((*ids)->size() > kMaxKeys) return resource_exhausted(std::string(where) + ": too many key ids");
  for (const auto& id : **ids) {
    if (!id.is_string()) return invalid_argument(std::string(where) + ": a key id is not a string");
    role.key_ids.push_back(id.get<std::string>());
  }
  auto threshold = uint_field(j, "threshold", where);
  if (!threshold) return threshold.error();
  if (*threshold < 1) return invalid_argument(std::string(where) + ": threshold must be at least 1");
  role.threshold = *threshold;
  return role;
}

Result<Envelope> parse_envelope_json(const json& doc) {
  Envelope env;
  auto signed_part = field(doc, "signed", json::value_t::object, "metadata");
  if (!signed_part) return signed_part.error();
  const json& s = **signed_part;
  auto type = string_field(s, "_type", "signed");
  if (!type) return type.error();
  env.notary_dialect = !type->empty() && std::isupper(static_cast<unsigned char>((*type)[0]));
  env.type = ascii_lower(*type);
  auto version = uint_field(s, "version", "signed");
  if (!version) return version.error();
  env.version = *version;
  auto expires = string_field(s, "expires", "signed");
  if (!expires) return expires.error();
  auto when = parse_rfc3339(*expires);
  if (!when) return invalid_argument("signed: expires: " + when.error().message);
  env.expires = *when;
  auto c = canonical(s);
  if (!c) return c.error();
  env.canonical_signed = std::move(*c);

  auto sigs = doc.find("signatures");
  if (sigs == doc.end() || sigs->is_null()) return env;
  if (!sigs->is_array()) return invalid_argument("signatures is not an array");
  if (sigs->size() > kMaxSignatures) return resource_exhausted("too many signatures");
  for (const auto& sig : *sigs) {
    SignatureEntry entry;
    auto keyid = string_field(sig, "keyid", "signature");
    if (!keyid) return keyid.error();
    entry.key_id = *keyid;
    auto value = string_field(sig, "sig", "signature");
    if (!value) return value.error();
    if (auto m = sig.find("method"); m != sig.end() && m->is_string()) entry.method = m->get<std::string>();
    if (!entry.method.empty()) env.notary_dialect = true;
    // notary: base64; TUF 1.0: hex. A signature that does not decode stays empty and counts for nothing.
    if (!value->empty()) {
      auto raw = entry.method.empty() ? hex_decode(*value) : base64_decode(*value);
      if (raw) entry.value = std::move(*raw);
    }
    env.signatures.push_back(std::move(entry));
  }
  return env;
}

Result<json> parse_document(std::string_view bytes, Envelope& env, std::string_view want_type) {
  auto doc = parse_json(bytes);
  if (!doc) return doc.error();
  auto e = parse_envelope_json(*doc);
  if (!e) return e.error();
  if (e->type != want_type) {
    return invalid_argument("metadata has _type \"" + e->type + "\", expected \"" + std::string(want_type) + "\"");
  }
  env = std::move(*e);
  return std::move((*doc)["signed"]);
}

}  // namespace

Result<std::string> canonical_json(std::string_view json_text) {
  auto doc = parse_json(json_text);
  if (!doc) return doc.error();
  return canonical(*doc);
}

Result<TimePoint> parse_rfc3339(std::string_view text) {
  if (auto t = verifier::parse_rfc3339(text)) return *t;
  return invalid_argument("not an RFC 3339 time: \"" + std::string(text.substr(0, 64)) + "\"");
}

Result<Envelope> parse_envelope(std::string_view bytes) {
  auto doc = parse_json(bytes);
  if (!doc) return doc.error();
  return parse_envelope_json(*doc);
}

Result<Root> parse_root(std::string_view bytes) {
  Root root;
  auto s = parse_document(bytes, root.envelope, "root");
  if (!s) return s.error();
  auto keys_json = field(*s, "keys", json::value_t::object, "root");
  if (!keys_json) return keys_json.error();
  auto keys = parse_keys(**keys_json, "root");
  if (!keys) return keys.error();
  root.keys = std::move(*keys);
  auto roles = field(*s, "roles", json::value_t::object, "root");
  if (!roles) return roles.error();
  for (const auto& [name, value] : (*roles)->items()) {
    auto role = parse_role_keys(value, "root role " + name);
    if (!role) return role.error();
    root.roles.emplace(name, std::move(*role));
  }
  for (const char* required : {"root", "targets", "snapshot", "timestamp"}) {
    if (!root.roles.count(required)) return invalid_argument(std::string("root: no \"") + required + "\" role");
  }
  root.raw = std::string(bytes);
  return root;
}

Result<Timestamp> parse_timestamp(std::string_view bytes) {
  Timestamp ts;
  auto s = parse_document(bytes, ts.envelope, "timestamp");
  if (!s) return s.error();
  auto meta = field(*s, "meta", json::value_t::object, "timestamp");
  if (!meta) return meta.error();
  // notary: "snapshot"; TUF 1.0: "snapshot.json".
  auto it = (*meta)->find("snapshot");
  if (it == (*meta)->end()) it = (*meta)->find("snapshot.json");
  if (it == (*meta)->end()) return invalid_argument("timestamp: meta lists no snapshot");
  auto fm = parse_file_meta(*it, "timestamp meta snapshot");
  if (!fm) return fm.error();
  ts.snapshot = std::move(*fm);
  return ts;
}

Result<Snapshot> parse_snapshot(std::string_view bytes) {
  Snapshot snap;
  auto s = parse_document(bytes, snap.envelope, "snapshot");
  if (!s) return s.error();
  auto meta = field(*s, "meta", json::value_t::object, "snapshot");
  if (!meta) return meta.error();
  if ((*meta)->size() > kMaxKeys) return resource_exhausted("snapshot: too many roles");
  for (const auto& [name, value] : (*meta)->items()) {
    auto fm = parse_file_meta(value, "snapshot meta " + name);
    if (!fm) return fm.error();
    // TUF 1.0 names files ("targets.json"); notary names roles ("targets").
    std::string role = name;
    if (role.size() > 5 && role.ends_with(".json")) role.resize(role.size() - 5);
    snap.meta.emplace(std::move(role), std::move(*fm));
  }
  return snap;
}

Result<Targets> parse_targets(std::string_view bytes, std::string_view role_name) {
  Targets t;
  t.role = std::string(role_name);
  auto s = parse_document(bytes, t.envelope, "targets");
  if (!s) return s.error();
  const std::string where = std::string(role_name);
  auto targets = field(*s, "targets", json::value_t::object, where);
  if (!targets) return targets.error();
  for (const auto& [name, value] : (*targets)->items()) {
    auto length = uint_field(value, "length", where + " target " + name);
    if (!length) return length.error();
    auto hashes_json = field(value, "hashes", json::value_t::object, where + " target " + name);
    if (!hashes_json) return hashes_json.error();
    auto hashes = parse_hashes(**hashes_json, where + " target " + name);
    if (!hashes) return hashes.error();
    t.targets.emplace(name, TargetFile{*length, std::move(*hashes)});
  }
  auto del = s->find("delegations");
  if (del != s->end() && !del->is_null()) {
    if (!del->is_object()) return invalid_argument(where + ": delegations is not an object");
    if (auto k = del->find("keys"); k != del->end()) {
      auto keys = parse_keys(*k, where + " delegations");
      if (!keys) return keys.error();
      t.delegation_keys = std::move(*keys);
    }
    if (auto r = del->find("roles"); r != del->end() && !r->is_null()) {
      if (!r->is_array()) return invalid_argument(where + ": delegations.roles is not an array");
      if (r->size() > kMaxKeys) return resource_exhausted(where + ": too many delegations");
      for (const auto& role : *r) {
        DelegatedRole d;
        auto name = string_field(role, "name", where + " delegation");
        if (!name) return name.error();
        d.name = *name;
        auto keys = parse_role_keys(role, where + " delegation " + d.name);
        if (!keys) return keys.error();
        d.keys = std::move(*keys);
        for (const char* list : {"paths", "path_hash_prefixes"}) {
          auto it = role.find(list);
          if (it == role.end() || it->is_null()) continue;
          if (!it->is_array()) return invalid_argument(where + " delegation " + d.name + ": " + list + " is not an array");
          for (const auto& p : *it) {
            if (!p.is_string()) return invalid_argument(where + " delegation " + d.name + ": " + list + " holds a non-string");
            (std::string_view(list) == "paths" ? d.paths : d.path_hash_prefixes).push_back(p.get<std::string>());
          }
        }
        t.delegations.push_back(std::move(d));
      }
    }
  }
  return t;
}

}  // namespace imagegate::verifier::tuf
