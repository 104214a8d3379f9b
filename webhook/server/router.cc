#include "common/asio_warnings.h"  // before any Asio header

#include "webhook/server/router.h"

#include <utility>

namespace imagegate::webhook {

namespace {

bool path_matches(const Router::Route& route, std::string_view path) {
  if (route.match == Router::Match::exact) return path == route.path;
  // subtree: the path itself, or the path followed by '/' and anything.
  if (path.substr(0, route.path.size()) != route.path) return false;
  return path.size() == route.path.size() || path[route.path.size()] == '/';
}

bool same_path(const Router::Route& a, const Router::Route& b) { return a.path == b.path && a.match == b.match; }

}  // namespace

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

Router::Router(ErrorAnswer error, std::size_t max_path_in_errors)
    : error_(std::move(error)), max_path_in_errors_(max_path_in_errors) {}

Router& Router::add(std::string method, std::string path, Match match, RequestHandler handler, std::string name) {
  routes_.push_back(Route{std::move(method), std::move(path), match, std::move(handler), std::move(name)});
  return *this;
}

Router::Found Router::find(std::string_view method, std::string_view target) const {
  const std::string_view path = path_of(target);
  const Route* first_on_path = nullptr;
  for (const Route& route : routes_) {
    if (!path_matches(route, path)) continue;
    if (route.method.empty() || route.method == method) return Found{&route, std::nullopt};
    if (first_on_path == nullptr) first_on_path = &route;
  }
  if (first_on_path == nullptr) {
    return Found{nullptr, error_(404, "not found: " + std::string(path.substr(0, max_path_in_errors_)))};
  }
  // 405: name every method the path takes, in the order the routes were added.
  std::string allowed;
  for (const Route& route : routes_) {
    if (!same_path(route, *first_on_path)) continue;
    allowed += (allowed.empty() ? "" : " or ") + route.method;
  }
  return Found{first_on_path, error_(405, "method not allowed: use " + allowed)};
}

boost::asio::awaitable<HttpAnswer> answer_now(HttpAnswer answer) { co_return answer; }

boost::asio::awaitable<HttpAnswer> Router::handle(HttpRequest request) const {
  Found found = find(request.method, request.target);
  if (found.refusal) return answer_now(std::move(*found.refusal));
  return found.route->handler(std::move(request));
}

}  // namespace imagegate::webhook
