// TUF / Notary v1 metadata: parsing, canonical JSON, and the client-side checks of the TUF specification
// (https://theupdateframework.github.io/specification/latest/#detailed-client-workflow) in the dialect
// notary writes (https://github.com/notaryproject/notary/blob/master/docs/resources/tuf_structure.md).
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

Error denied(std::string message) { return {ErrorCode::permission_denied, std::move(message)}; }

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

// The key ids of `role` whose signature on `env` verifies, one per distinct public key.
std::vector<std::string> verified_key_ids(const Envelope& env, const std::map<std::string, Key>& keys,
                                          const RoleKeys& role) {
  std::vector<std::string> ids;
  std::set<std::string> seen_spki;
  for (const auto& sig : env.signatures) {
    if (sig.value.empty()) continue;
    if (std::find(role.key_ids.begin(), role.key_ids.end(), sig.key_id) == role.key_ids.end()) continue;
    auto it = keys.find(sig.key_id);
    if (it == keys.end() || !it->second.usable || !it->second.key) continue;
    const PublicKey& key = *it->second.key;
    if (seen_spki.count(key.spki_der())) continue;
    std::string method = sig.method.empty() ? it->second.scheme : sig.method;
    SignatureScheme scheme;
    std::optional<HashAlgorithm> hash = HashAlgorithm::sha256;
    if (method == "ecdsa") {
      scheme = SignatureScheme::ecdsa_raw;  // notary: r||s over sha256
    } else if (method == "ecdsa-sha2-nistp256") {
      scheme = SignatureScheme::ecdsa_der;
    } else if (method == "ecdsa-sha2-nistp384") {
      scheme = SignatureScheme::ecdsa_der;
      hash = HashAlgorithm::sha384;
    } else if (method == "rsapss" || method == "rsassa-pss-sha256") {
      scheme = SignatureScheme::rsa_pss;
    } else if (method == "rsapkcs1v15" || method == "rsa-pkcs1v15-sha256") {
      scheme = SignatureScheme::rsa_pkcs1v15;
    } else if (method == "eddsa" || method == "ed25519") {
      scheme = SignatureScheme::ed25519;
      hash = std::nullopt;
    } else {
      continue;
    }
    if (key.verify(env.canonical_signed, sig.value, scheme, hash).ok()) {
      seen_spki.insert(key.spki_der());
      ids.push_back(sig.key_id);
    }
  }
  return ids;
}

std::string format_time(TimePoint t) {
  auto secs = std::chrono::floor<std::chrono::seconds>(t);
  auto days = std::chrono::floor<std::chrono::days>(secs);
  std::chrono::year_month_day ymd{days};
  std::chrono::hh_mm_ss hms{secs - days};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                static_cast<long>(hms.seconds().count()));
  return buf;
}

Status check_hashes(const FileMeta& meta, std::string_view bytes, std::string_view what) {
  bool any = false;
  for (const auto& [alg, want] : meta.hashes) {
    std::string got;
    if (alg == "sha256") {
      got = sha_digest(HashAlgorithm::sha256, bytes);
    } else if (alg == "sha384") {
      got = sha_digest(HashAlgorithm::sha384, bytes);
    } else if (alg == "sha512") {
      got = sha_digest(HashAlgorithm::sha512, bytes);
    } else {
      continue;
    }
    any = true;
    if (got != want) return denied(std::string(what) + " does not match its " + alg + " hash");
  }
  if (!any) return denied(std::string(what) + " has no sha256 or sha512 hash to check");
  return Ok{};
}

std::string parent_of(std::string_view role) {
  auto slash = role.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(role.substr(0, slash));
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

Status verify_signatures(const Envelope& envelope, const std::map<std::string, Key>& keys, const RoleKeys& role,
                         std::string_view role_name) {
  const std::string name(role_name);
  bool any = std::any_of(envelope.signatures.begin(), envelope.signatures.end(),
                         [](const SignatureEntry& s) { return !s.value.empty(); });
  if (!any) return denied(name + ": no signatures");
  auto ok = verified_key_ids(envelope, keys, role);
  if (ok.size() >= role.threshold) return Ok{};
  return denied(name + ": " + std::to_string(ok.size()) + " of " + std::to_string(role.threshold) +
                " required signatures verify");
}

Status check_expiry(const Envelope& envelope, TimePoint now, std::string_view role_name) {
  if (now >= envelope.expires) {
    return denied(std::string(role_name) + " trust data expired at " + format_time(envelope.expires));
  }
  return Ok{};
}

Status check_file_meta(const FileMeta& meta, std::string_view bytes, std::string_view what) {
  if (meta.length && bytes.size() > *meta.length) {
    return denied(std::string(what) + " is " + std::to_string(bytes.size()) + " bytes, more than the " +
                  std::to_string(*meta.length) + " recorded for it");
  }
  return check_hashes(meta, bytes, what);
}

bool delegation_covers(const DelegatedRole& role, std::string_view target) {
  for (const auto& p : role.paths) {
    if (target.substr(0, p.size()) == p) return true;
  }
  if (!role.path_hash_prefixes.empty()) {
    const std::string h = sha256_hex(target);
    for (const auto& p : role.path_hash_prefixes) {
      if (h.compare(0, p.size(), ascii_lower(p)) == 0) return true;
    }
  }
  return false;
}

Status verify_pinned_root(const Root& root, const RootPin& pin) {
  bool any = std::any_of(root.envelope.signatures.begin(), root.envelope.signatures.end(),
                         [](const SignatureEntry& s) { return !s.value.empty(); });
  if (!any) return denied("root has no signatures");
  const RoleKeys& role = root.roles.at("root");
  if (auto s = verify_signatures(root.envelope, root.keys, role, "root"); !s) return s;
  for (const auto& id : verified_key_ids(root.envelope, root.keys, role)) {
    const Key& key = root.keys.at(id);
    const bool key_pinned = std::any_of(pin.keys.begin(), pin.keys.end(),
                                        [&](const PublicKey& p) { return p.spki_der() == key.key->spki_der(); });
    if (!key_pinned) continue;
    if (!pin.key_ids.empty()) {
      const bool id_pinned = std::any_of(pin.key_ids.begin(), pin.key_ids.end(), [&](const std::string& want) {
        return ascii_lower(want) == ascii_lower(id) || (!key.public_key_id.empty() && ascii_lower(want) == key.public_key_id);
      });
      if (!id_pinned) continue;
    }
    return Ok{};
  }
  return denied("root is not signed by a pinned key");
}

Status verify_root_rotation(const Root& trusted, const Root& next) {
  if (next.envelope.version != trusted.envelope.version + 1) {
    return denied("root version " + std::to_string(next.envelope.version) + " does not follow trusted version " +
                  std::to_string(trusted.envelope.version));
  }
  const RoleKeys& old_role = trusted.roles.at("root");
  if (verified_key_ids(next.envelope, trusted.keys, old_role).size() < old_role.threshold) {
    return denied("root version " + std::to_string(next.envelope.version) +
                  " is not signed by the keys of the trusted root version " + std::to_string(trusted.envelope.version));
  }
  if (auto s = verify_signatures(next.envelope, next.keys, next.roles.at("root"), "root"); !s) return s;
  return Ok{};
}

std::uint64_t TrustChain::peek_version(std::string_view bytes) {
  auto e = parse_envelope(bytes);
  return e ? e->version : 0;
}

Status TrustChain::check_version(std::string_view role, std::uint64_t version) {
  auto it = highest_version_.find(role);
  if (it != highest_version_.end() && version < it->second) {
    return denied(std::string(role) + " version " + std::to_string(version) + " is older than version " +
                  std::to_string(it->second) + " seen before (rollback)");
  }
  highest_version_[std::string(role)] = version;
  return Ok{};
}

Status TrustChain::update_root(std::string_view bytes, const std::vector<std::string>& older_roots, TimePoint now) {
  auto next = parse_root(bytes);
  if (!next) return next.error();
  std::optional<Root> current = root_;
  std::size_t first_step = 0;
  if (!current) {
    if (older_roots.empty()) {
      if (auto s = verify_pinned_root(*next, pin_); !s) return s;
    } else {
      auto first = parse_root(older_roots.front());
      if (!first) return first.error();
      if (auto s = verify_pinned_root(*first, pin_); !s) return s;
      current = std::move(*first);
      first_step = 1;
    }
  }
  if (current) {
    if (next->envelope.version < current->envelope.version) {
      return denied("root version " + std::to_string(next->envelope.version) + " is older than version " +
                    std::to_string(current->envelope.version) + " seen before (rollback)");
    }
    if (next->envelope.version == current->envelope.version) {
      if (next->envelope.canonical_signed != current->envelope.canonical_signed) {
        return denied("root version " + std::to_string(next->envelope.version) + " changed without a new version");
      }
    } else {
      if (older_roots.size() - first_step > kMaxRootRotations) return resource_exhausted("too many root rotations");
      for (std::size_t i = first_step; i < older_roots.size(); ++i) {
        auto step = parse_root(older_roots[i]);
        if (!step) return step.error();
        if (auto s = verify_root_rotation(*current, *step); !s) return s;
        current = std::move(*step);
      }
      if (auto s = verify_root_rotation(*current, *next); !s) return s;
    }
  }
  if (auto s = check_expiry(next->envelope, now, "root"); !s) return s;
  // TUF 5.3.11: when the timestamp or snapshot keys change, forget their versions (fast-forward recovery).
  if (root_) {
    for (const char* role : {"timestamp", "snapshot"}) {
      if (root_->roles.at(role).key_ids != next->roles.at(role).key_ids) highest_version_.erase(role);
    }
  }
  highest_version_["root"] = std::max(highest_version_["root"], next->envelope.version);
  root_ = std::move(*next);
  return Ok{};
}

void TrustChain::begin_update() {
  timestamp_.reset();
  snapshot_.reset();
  targets_.clear();
}

Status TrustChain::update_timestamp(std::string_view bytes, TimePoint now) {
  if (!root_) return invalid_argument("timestamp before a trusted root");
  auto ts = parse_timestamp(bytes);
  if (!ts) return ts.error();
  if (auto s = verify_signatures(ts->envelope, root_->keys, root_->roles.at("timestamp"), "timestamp"); !s) return s;
  if (auto s = check_version("timestamp", ts->envelope.version); !s) return s;
  if (auto s = check_expiry(ts->envelope, now, "timestamp"); !s) return s;
  timestamp_ = std::move(*ts);
  return Ok{};
}

std::size_t TrustChain::snapshot_limit() const {
  if (timestamp_ && timestamp_->snapshot.length) {
    return static_cast<std::size_t>(std::min<std::uint64_t>(*timestamp_->snapshot.length, kMaxMetadataBytes));
  }
  return kMaxMetadataBytes;
}

Status TrustChain::update_snapshot(std::string_view bytes, TimePoint now) {
  if (!timestamp_) return invalid_argument("snapshot before a trusted timestamp");
  if (auto s = check_file_meta(timestamp_->snapshot, bytes, "snapshot.json"); !s) return s;
  auto snap = parse_snapshot(bytes);
  if (!snap) return snap.error();
  if (auto s = verify_signatures(snap->envelope, root_->keys, root_->roles.at("snapshot"), "snapshot"); !s) return s;
  if (auto s = check_version("snapshot", snap->envelope.version); !s) return s;
  if (auto s = check_expiry(snap->envelope, now, "snapshot"); !s) return s;
  // notary records the root's hashes in the snapshot; root.json was fetched before its length was known,
  // so only the hashes apply to it.
  if (auto it = snap->meta.find("root"); it != snap->meta.end() && !it->second.hashes.empty()) {
    if (auto s = check_hashes(it->second, root_->raw, "root.json"); !s) return s;
  }
  snapshot_ = std::move(*snap);
  return Ok{};
}

std::size_t TrustChain::role_limit(std::string_view role) const {
  if (snapshot_) {
    auto it = snapshot_->meta.find(std::string(role));
    if (it != snapshot_->meta.end() && it->second.length) {
      return static_cast<std::size_t>(std::min<std::uint64_t>(*it->second.length, kMaxMetadataBytes));
    }
  }
  return kMaxMetadataBytes;
}

bool TrustChain::snapshot_lists(std::string_view role) const {
  return snapshot_ && snapshot_->meta.count(std::string(role)) > 0;
}

Status TrustChain::update_targets(std::string_view bytes, TimePoint now) {
  if (!snapshot_) return invalid_argument("targets before a trusted snapshot");
  auto meta = snapshot_->meta.find("targets");
  if (meta == snapshot_->meta.end()) return denied("snapshot does not list targets");
  if (auto s = check_file_meta(meta->second, bytes, "targets.json"); !s) return s;
  auto t = parse_targets(bytes, "targets");
  if (!t) return t.error();
  if (auto s = verify_signatures(t->envelope, root_->keys, root_->roles.at("targets"), "targets"); !s) return s;
  if (auto s = check_version("targets", t->envelope.version); !s) return s;
  if (auto s = check_expiry(t->envelope, now, "targets"); !s) return s;
  targets_.insert_or_assign("targets", std::move(*t));
  return Ok{};
}

const DelegatedRole* TrustChain::delegation(std::string_view role) const {
  const Targets* parent = this->role(parent_of(role));
  if (!parent) return nullptr;
  for (const auto& d : parent->delegations) {
    if (d.name == role) return &d;
  }
  return nullptr;
}

Status TrustChain::update_delegation(std::string_view role, std::string_view bytes, TimePoint now) {
  const std::string name(role);
  if (!snapshot_) return invalid_argument("delegation before a trusted snapshot");
  if (std::count(name.begin(), name.end(), '/') > kMaxDelegationDepth) return resource_exhausted(name + ": delegated too deeply");
  if (targets_.size() > kMaxDelegations) return resource_exhausted("too many delegations");
  const Targets* parent = this->role(parent_of(role));
  if (!parent) return invalid_argument(name + ": its parent role is not loaded");
  const DelegatedRole* entry = delegation(role);
  if (!entry) return denied(name + " is not delegated by " + parent->role);
  auto meta = snapshot_->meta.find(name);
  if (meta == snapshot_->meta.end()) return denied("snapshot does not list " + name);
  if (auto s = check_file_meta(meta->second, bytes, name + ".json"); !s) return s;
  auto t = parse_targets(bytes, role);
  if (!t) return t.error();
  if (auto s = verify_signatures(t->envelope, parent->delegation_keys, entry->keys, name); !s) return s;
  if (auto s = check_version(name, t->envelope.version); !s) return s;
  if (auto s = check_expiry(t->envelope, now, name); !s) return s;
  targets_.insert_or_assign(name, std::move(*t));
  return Ok{};
}

const Targets* TrustChain::role(std::string_view name) const {
  auto it = targets_.find(name);
  return it == targets_.end() ? nullptr : &it->second;
}

TimePoint TrustChain::earliest_expiry() const {
  TimePoint t = TimePoint::max();
  if (root_) t = std::min(t, root_->envelope.expires);
  if (timestamp_) t = std::min(t, timestamp_->envelope.expires);
  if (snapshot_) t = std::min(t, snapshot_->envelope.expires);
  for (const auto& [name, targets] : targets_) t = std::min(t, targets.envelope.expires);
  return t;
}

std::optional<TargetFile> TrustChain::find_target(std::string_view role_name, std::string_view name) const {
  const Targets* t = role(role_name);
  if (!t) return std::nullopt;
  // Every ancestor's delegation must cover the name (TUF: a delegation cannot widen its parent's paths).
  for (std::string r(role_name); r.find('/') != std::string::npos; r = parent_of(r)) {
    const DelegatedRole* d = delegation(r);
    if (!d || !delegation_covers(*d, name)) return std::nullopt;
  }
  auto it = t->targets.find(std::string(name));
  if (it == t->targets.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> roles_to_load(const TrustChain& chain, const std::vector<std::string>& required) {
  std::vector<std::string> out;
  auto add_with_parents = [&](const std::string& role) {
    if (role.rfind("targets/", 0) != 0) return;
    std::vector<std::string> chain_of;
    for (std::string r = role; r.find('/') != std::string::npos; r = parent_of(r)) chain_of.push_back(r);
    for (auto it = chain_of.rbegin(); it != chain_of.rend(); ++it) {
      if (std::find(out.begin(), out.end(), *it) == out.end()) out.push_back(*it);
    }
  };
  if (required.empty()) {
    if (chain.snapshot_lists("targets/releases")) out.push_back("targets/releases");
  } else {
    for (const auto& r : required) add_with_parents(r);
  }
  return out;
}

TagDecision decide_tag(const TrustChain& chain, std::string_view gun, std::string_view tag, std::string_view digest,
                       const std::vector<std::string>& required, bool all) {
  TagDecision d;
  const std::string t(tag);
  const bool default_roles = required.empty();
  const std::vector<std::string> roles =
      default_roles ? std::vector<std::string>{"targets/releases", "targets"} : required;
  std::vector<std::pair<std::string, std::string>> signed_by;  // role -> "sha256:hex"
  std::vector<std::string> missing;
  for (const auto& role : roles) {
    auto target = chain.find_target(role, tag);
    if (!target) {
      missing.push_back(role);
      continue;
    }
    auto h = target->hashes.find("sha256");
    if (h == target->hashes.end()) {
      missing.push_back(role);
      continue;
    }
    signed_by.emplace_back(role, "sha256:" + hex_encode(h->second));
  }
  for (std::size_t i = 1; i < signed_by.size(); ++i) {
    if (signed_by[i].second != signed_by[0].second) {
      d.detail = "roles disagree on tag " + t + ": " + signed_by[0].first + " signs " + signed_by[0].second + ", " +
                 signed_by[i].first + " signs " + signed_by[i].second;
      return d;
    }
  }
  if (signed_by.empty()) {
    if (default_roles) {
      d.detail = "tag " + t + " is not signed in the trust data of " + std::string(gun);
    } else if (required.size() == 1 || all) {
      d.detail = "required delegation " + missing.front() + " did not sign tag " + t;
    } else {
      std::string list;
      for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
      d.detail = "none of the required delegations (" + list + ") signed tag " + t;
    }
    return d;
  }
  if (!default_roles && all && !missing.empty()) {
    d.detail = "required delegation " + missing.front() + " did not sign tag " + t;
    return d;
  }
  if (signed_by.front().second != digest) {
    d.detail = "signed digest is " + signed_by.front().second + ", not " + std::string(digest);
    return d;
  }
  d.verified = true;
  for (const auto& [role, dg] : signed_by) d.signers.push_back(role);
  d.detail = "tag " + t + " signed by " + signed_by.front().first + " as " + signed_by.front().second;
  return d;
}

}  // namespace imagegate::verifier::tuf
