// `imagegate verdict push` / `imagegate verdict get` and `imagegate inventory list|rescan|violations|prune`: the
// verdict API's client (docs/cli.md). One HTTPS request with a deadline (webhook/cli/https_request.h); the
// token is read from a file (never a flag, which `ps` would show); the server certificate is verified
// against --cacert or the system store, with its host name. A request that gets no answer exits 1 for
// `verdict` and 2 for `inventory`, as docs/cli.md says for each.

#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/duration.h"
#include "common/json_bounded.h"
#include "common/text.h"
#include "webhook/cli/cli.h"
#include "webhook/cli/https_request.h"

namespace imagegate::webhook {
namespace {

struct VerdictFlags {
  std::string server;  // https://host:port
  std::string token_file;
  std::string cacert;
  std::string image;
  std::string digest;
  std::string format;
  std::string report;
  std::string timeout_seconds = "30";
};

using Reply = HttpsReply;

bool read_all(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  out = s.str();
  return true;
}

// --timeout: a bare number is seconds (as this command has always read it), else common/duration.h's
// grammar ("30s", "1m30s"), rounded down to seconds.
Result<std::chrono::seconds> timeout_of(const std::string& text) {
  if (auto d = parse_duration(text, DurationRules{.bare_number_is_seconds = true})) {
    return std::chrono::floor<std::chrono::seconds>(*d);
  }
  return invalid_argument("--timeout " + text + ": expected seconds or " + std::string(kDurationSyntax));
}

// One request to the verdict API (webhook/cli/https_request.h) with the token from the token file.
Result<Reply> request(const VerdictFlags& flags, std::string method, std::string target, std::string body,
                      std::string content_type) {
  HttpsRequest call;
  call.method = std::move(method);
  call.server = flags.server;
  call.target = std::move(target);
  call.content_type = std::move(content_type);
  call.body = std::move(body);
  call.cacert = flags.cacert;
  std::string token;
  if (!read_all(flags.token_file, token)) return invalid_argument("cannot read the token file " + flags.token_file);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  // A file in the server's format (rw:/ro: prefix) works as is.
  if (token.rfind("rw:", 0) == 0 || token.rfind("ro:", 0) == 0) token = token.substr(3);
  call.bearer_token = std::move(token);
  auto timeout = timeout_of(flags.timeout_seconds);
  if (!timeout) return timeout.error();
  call.timeout = *timeout;
  return https_request(std::move(call));
}

// A request that got no answer: printed; the exit code is the command's (verdict: 1, inventory: 2).
int transport_failure(const Error& error, int exit_code) {
  std::cerr << "imagegate: error: " << error.message << "\n";
  return exit_code;
}

int finish(const Reply& reply) {
  (reply.status / 100 == 2 ? std::cout : std::cerr) << reply.body << (reply.body.empty() || reply.body.back() != '\n' ? "\n" : "");
  if (reply.status / 100 == 2) return 0;
  std::cerr << "imagegate: error: the server answered HTTP " << reply.status << "\n";
  return reply.status == 404 ? 3 : 1;
}

int run_push(const VerdictFlags& flags) {
  std::string body;
  if (!read_all(flags.report, body)) {
    std::cerr << "imagegate: error: cannot read " << flags.report << "\n";
    return 2;
  }
  std::string target = "/api/v1/verdicts" + (flags.digest.empty() ? std::string() : "/" + flags.digest);
  std::string query;
  if (!flags.image.empty()) query += "image=" + url_encode(flags.image);
  if (!flags.format.empty()) query += (query.empty() ? "" : "&") + std::string("format=") + url_encode(flags.format);
  if (!query.empty()) target += "?" + query;
  const Result<Reply> reply = request(flags, "PUT", std::move(target), std::move(body), "application/json");
  return reply ? finish(*reply) : transport_failure(reply.error(), 1);
}

int run_get(const VerdictFlags& flags) {
  std::string target;
  if (!flags.digest.empty()) {
    target = "/api/v1/verdicts/" + flags.digest;
  } else if (!flags.image.empty()) {
    target = "/api/v1/verdicts?image=" + url_encode(flags.image);
  } else {
    std::cerr << "imagegate: error: give --digest or --image\n";
    return 2;
  }
  const Result<Reply> reply = request(flags, "GET", std::move(target), "", "");
  return reply ? finish(*reply) : transport_failure(reply.error(), 1);
}

void common_flags(CLI::App* cmd, VerdictFlags& flags) {
  cmd->add_option("--server", flags.server, "the verdict API, https://HOST:PORT")->required();
  cmd->add_option("--token-file", flags.token_file, "a file holding the bearer token")->required();
  cmd->add_option("--cacert", flags.cacert, "PEM CA bundle to verify the server (default: system store)");
  cmd->add_option("--image", flags.image, "image reference");
  cmd->add_option("--digest", flags.digest, "image digest sha256:...");
  cmd->add_option("--timeout", flags.timeout_seconds, "seconds (default 30)");
}

// ---- imagegate inventory ------------------------------------------------------------------------------

struct InventoryFlags {
  VerdictFlags connection;
  std::string namespace_name;
  std::string image;
  std::string digest;
  std::string cve;
  std::string older_than;
  std::string limit;
  std::string output = "table";
};

std::string inventory_target(const InventoryFlags& flags, std::string_view route) {
  std::string query;
  const auto add = [&query](std::string_view name, const std::string& value) {
    if (value.empty()) return;
    query += (query.empty() ? "?" : "&") + std::string(name) + "=" + url_encode(value);
  };
  add("namespace", flags.namespace_name);
  if (route.empty()) {
    add("image", flags.image);
    add("digest", flags.digest);
    add("cve", flags.cve);
    add("limit", flags.limit);
  }
  if (route == "/rescan") add("olderThan", flags.older_than);
  if (route == "prune") {
    // DELETE /api/v1/inventory?olderThan=: the only filter it takes.
    return "/api/v1/inventory?olderThan=" + url_encode(flags.older_than);
  }
  return "/api/v1/inventory" + std::string(route) + query;
}

// Left-aligned columns, two spaces apart; the table `kubectl get` would print.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

std::string short_digest(const std::string& digest) { return digest.size() > 19 ? digest.substr(0, 19) : digest; }

std::string text(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

// Prints an inventory answer; the exit code: violations found -> 1 (a negative answer), else 0.
int print_inventory(std::string_view route, const nlohmann::json& body) {
  std::vector<std::vector<std::string>> rows;
  const char* truncated_note = "(truncated: more entries than the server reads per request)";
  if (route.empty()) {
    rows.push_back({"NAMESPACE", "KIND", "NAME", "IMAGE", "DIGEST", "FIRST SEEN", "LAST SEEN"});
    for (const auto& e : body.value("items", nlohmann::json::array())) {
      rows.push_back({text(e, "namespace"), text(e, "kind"), text(e, "name"), text(e, "image"),
                      short_digest(text(e, "digest")), text(e, "firstSeen"), text(e, "lastSeen")});
    }
  } else if (route == "/rescan") {
    rows.push_back({"DIGEST", "REASON", "SCANNED AT", "WORKLOADS", "IMAGES"});
    for (const auto& d : body.value("digests", nlohmann::json::array())) {
      std::string images;
      for (const auto& i : d.value("images", nlohmann::json::array())) {
        images += (images.empty() ? "" : ",") + (i.is_string() ? i.get<std::string>() : i.dump());
      }
      rows.push_back({text(d, "digest"), text(d, "reason"), text(d, "scannedAt"), text(d, "workloads"), images});
    }
  } else {
    rows.push_back({"NAMESPACE", "KIND", "NAME", "IMAGE", "RULE", "REASON"});
    for (const auto& v : body.value("violations", nlohmann::json::array())) {
      std::string reasons;
      for (const auto& r : v.value("reasons", nlohmann::json::array())) {
        reasons += (reasons.empty() ? "" : "; ") + (r.is_string() ? r.get<std::string>() : r.dump());
      }
      rows.push_back({text(v, "namespace"), text(v, "kind"), text(v, "name"), text(v, "image"), text(v, "rule"), reasons});
    }
  }
  print_table(rows);
  if (body.value("truncated", false)) std::cout << truncated_note << "\n";
  return route == "/violations" && rows.size() > 1 ? 1 : 0;
}

int run_inventory(std::string_view route, const InventoryFlags& flags) {
  if (flags.output != "table" && flags.output != "json") {
    std::cerr << "imagegate: error: -o takes table or json\n";
    return 2;
  }
  const bool prune = route == "prune";
  const Result<Reply> answered =
      request(flags.connection, prune ? "DELETE" : "GET", inventory_target(flags, route), "", "");
  if (!answered) return transport_failure(answered.error(), 2);
  const Reply& reply = *answered;
  if (reply.status / 100 != 2) {
    // Exit 2, not finish()'s 1: for `violations`, 1 means "found some".
    finish(reply);
    return 2;
  }
  // The server's inventory answer (at most 64 MiB, the body limit of request()): its listing of up to
  // maxInventory entries is ~10 values each. A CLI's own process: 2,000,000 values, 200 B * 2M + 128 MiB.
  auto parsed = parse_json_bounded(reply.body, JsonLimits{.max_depth = 16, .max_values = 2'000'000});
  const nlohmann::json body = parsed ? std::move(parsed.value()) : nlohmann::json();
  if (!parsed || !body.is_object()) {
    std::cerr << "imagegate: error: the server's answer is not JSON\n";
    return 2;
  }
  if (prune) {
    if (flags.output == "json") {
      std::cout << body.dump(2) << "\n";
    } else {
      std::cout << "removed " << text(body, "removed") << " inventory entries last seen before " << text(body, "cutoff")
                << "\n";
    }
    return 0;
  }
  if (flags.output == "json") {
    std::cout << body.dump(2) << "\n";
    return route == "/violations" && !body.value("violations", nlohmann::json::array()).empty() ? 1 : 0;
  }
  return print_inventory(route, body);
}

}  // namespace

void add_inventory_commands(CLI::App& app, CliContext& context) {
  auto flags = std::make_shared<InventoryFlags>();
  CLI::App* inventory =
      app.add_subcommand("inventory", "what runs where, what needs a rescan, what the policy would now deny");
  inventory->require_subcommand(1);
  const auto common = [&flags](CLI::App* cmd) {
    cmd->add_option("--server", flags->connection.server, "the verdict API, https://HOST:PORT")->required();
    cmd->add_option("--token-file", flags->connection.token_file, "a file holding the bearer token (ro: is enough)")
        ->required();
    cmd->add_option("--cacert", flags->connection.cacert, "PEM CA bundle to verify the server (default: system store)");
    cmd->add_option("--timeout", flags->connection.timeout_seconds, "seconds (default 30)");
    cmd->add_option("-n,--namespace", flags->namespace_name, "only this namespace");
    cmd->add_option("-o,--output", flags->output, "table (default) or json");
  };
  CLI::App* list = inventory->add_subcommand("list", "image digests admitted, with where they run and when");
  common(list);
  list->add_option("--image", flags->image, "only this image reference");
  list->add_option("--digest", flags->digest, "only this digest");
  list->add_option("--cve", flags->cve, "only digests whose scan verdict lists this vulnerability (CVE-2024-3094)");
  list->add_option("--limit", flags->limit, "at most this many entries (default 1000)");
  list->callback([flags, &context] {
    context.exit_code = run_inventory("", *flags);
  });
  CLI::App* rescan = inventory->add_subcommand("rescan", "digests running whose verdict is missing or older than --older-than");
  common(rescan);
  rescan->add_option("--older-than", flags->older_than, "a duration: 24h (default), 30m, ...");
  rescan->callback([flags, &context] { context.exit_code = run_inventory("/rescan", *flags); });
  CLI::App* violations =
      inventory->add_subcommand("violations", "running workloads the current policy would deny now (exit 1 if any)");
  common(violations);
  violations->callback([flags, &context] { context.exit_code = run_inventory("/violations", *flags); });
  CLI::App* prune = inventory->add_subcommand(
      "prune", "remove entries last seen before --older-than (an rw: token). last_seen moves only on admission: "
               "a pod running unchanged for longer is removed too, until its next admission");
  prune->add_option("--server", flags->connection.server, "the verdict API, https://HOST:PORT")->required();
  prune->add_option("--token-file", flags->connection.token_file, "a file holding a read-write (rw:) token")->required();
  prune->add_option("--cacert", flags->connection.cacert, "PEM CA bundle to verify the server (default: system store)");
  prune->add_option("--timeout", flags->connection.timeout_seconds, "seconds (default 30)");
  prune->add_option("-o,--output", flags->output, "table (default: one line) or json");
  prune->add_option("--older-than", flags->older_than, "a duration: 30d, 720h, ...")->required();
  prune->callback([flags, &context] { context.exit_code = run_inventory("prune", *flags); });
}

void add_verdict_commands(CLI::App& app, CliContext& context) {
  auto flags = std::make_shared<VerdictFlags>();
  CLI::App* verdict = app.add_subcommand("verdict", "push scan reports to, and read verdicts from, the verdict API");
  verdict->require_subcommand(1);
  CLI::App* push = verdict->add_subcommand("push", "upload a Trivy, Grype, SARIF or native report for an image");
  common_flags(push, *flags);
  push->add_option("--format", flags->format, "trivy, grype, sarif or native (default: detected)");
  push->add_option("report", flags->report, "the report file")->required();
  push->callback([flags, &context] { context.exit_code = run_push(*flags); });
  CLI::App* get = verdict->add_subcommand("get", "print the verdict of a digest, or of an image's digest");
  common_flags(get, *flags);
  get->callback([flags, &context] { context.exit_code = run_get(*flags); });
}

}  // namespace imagegate::webhook
