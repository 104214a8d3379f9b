// Router: one table of routes for a listener, method + path -> handler. The webhook listener's table is in
// webhook/server/https_server.cc (admission_routes), the verdict API's in webhook/api/verdict_api.cc; a new
// endpoint (a web page, say) is one add() there plus its handler.
//
//   Router router(error_answer);
//   router.add("GET", "/healthz", Match::exact, healthz, "healthz");
//   router.add("PUT", "/api/v1/verdicts", Match::subtree, put_verdict, "verdicts_put");
//
// A path no route matches is answered 404 `not found: PATH`; a path some route matches, with a method none
// of its routes takes, 405 `method not allowed: use GET or PUT` (the methods in the order they were added).
// Both through the listener's ErrorAnswer, so each listener keeps its own JSON error form. The query
// (`?...`) is never part of the match.
//
// Built once, then read-only: match() and handle() may run on any thread at once. Handlers must not throw
// (the server turns what escapes into a 500) and must outlive nothing: they are owned by the router.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "webhook/admission/admission_service.h"

namespace imagegate::webhook {

// A request as a handler sees it.
struct HttpRequest {
  std::string method;  // "GET", "PUT", ...
  std::string target;  // path and query
  std::string content_type;
  std::string authorization;
  std::string body;
};
// Answers one request. Must not throw.
using RequestHandler = std::function<boost::asio::awaitable<HttpAnswer>(HttpRequest)>;

// An answer known at once, as the awaitable a RequestHandler returns.
boost::asio::awaitable<HttpAnswer> answer_now(HttpAnswer answer);

// The path of a request target: everything before the first '?'.
std::string_view path_of(std::string_view target);

class Router {
 public:
  // How a route's path matches a request's path.
  enum class Match {
    exact,    // the path itself
    subtree,  // the path itself or anything under it ("/api/v1/verdicts", "/api/v1/verdicts/sha256:...")
  };
  // The listener's form of a 404 or 405 answer (status, message).
  using ErrorAnswer = std::function<HttpAnswer(unsigned status, std::string_view message)>;

  struct Route {
    std::string method;  // empty: any method
    std::string path;
    Match match = Match::exact;
    RequestHandler handler;
    std::string name;  // a fixed label (metrics), never part of the request
  };

  // `max_path_in_errors`: a 404 quotes at most this much of the path.
  explicit Router(ErrorAnswer error, std::size_t max_path_in_errors = std::string_view::npos);

  Router& add(std::string method, std::string path, Match match, RequestHandler handler, std::string name = {});

  // What a request comes to: the route that answers it, or the 404/405 refusal. `route` is set on a 405
  // too: the first route of that path, so a refusal can still be labelled by what was asked for.
  struct Found {
    const Route* route = nullptr;
    std::optional<HttpAnswer> refusal;
  };
  Found find(std::string_view method, std::string_view target) const;

  // find(), then the route's handler, or the refusal. Not a coroutine itself: it returns the handler's
  // awaitable, so routing adds no coroutine frame to the path every review takes.
  boost::asio::awaitable<HttpAnswer> handle(HttpRequest request) const;

 private:
  ErrorAnswer error_;
  std::size_t max_path_in_errors_;
  std::vector<Route> routes_;
};

}  // namespace imagegate::webhook
