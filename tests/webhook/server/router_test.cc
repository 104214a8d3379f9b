// Tests webhook/server/router.cc: exact and subtree matches, the query never matched, 404 with the path
// (cut to the listener's length), 405 naming the path's methods in the order added, any-method routes,
// the first route of a path labelling a 405, and handle() dispatching to the handler.
#include "common/asio_warnings.h"  // before any Asio header

#include "webhook/server/router.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/run_awaitable.h"

namespace imagegate::webhook {
namespace {

namespace asio = boost::asio;
using testing::run_awaitable;

HttpAnswer plain_error(unsigned status, std::string_view message) { return {status, "text/plain", std::string(message)}; }

asio::awaitable<HttpAnswer> echo(HttpRequest request) {
  co_return HttpAnswer{200, "text/plain", request.method + " " + request.target + " " + request.body};
}

asio::awaitable<HttpAnswer> named(std::string name) { co_return HttpAnswer{200, "text/plain", name}; }

Router sample(std::size_t max_path = std::string_view::npos) {
  Router router(plain_error, max_path);
  router.add("", "/healthz", Router::Match::exact, [](HttpRequest) { return named("healthz"); }, "healthz");
  router.add("GET", "/items", Router::Match::exact, [](HttpRequest) { return named("list"); }, "list");
  router.add("DELETE", "/items", Router::Match::exact, [](HttpRequest) { return named("prune"); }, "prune");
  router.add("GET", "/v1/verdicts", Router::Match::subtree, echo, "get");
  router.add("PUT", "/v1/verdicts", Router::Match::subtree, echo, "put");
  return router;
}

TEST(Router, FindsRoutesByMethodAndPath) {
  const Router router = sample();
  struct Case {
    const char* method;
    const char* target;
    const char* route;  // nullptr: refused
    unsigned refusal;
  };
  const Case cases[] = {
      {"GET", "/healthz", "healthz", 0},
      {"POST", "/healthz?x=1", "healthz", 0},  // any method
      {"GET", "/items", "list", 0},
      {"DELETE", "/items?olderThan=30d", "prune", 0},
      {"GET", "/v1/verdicts", "get", 0},
      {"GET", "/v1/verdicts/", "get", 0},
      {"PUT", "/v1/verdicts/sha256:abc?format=trivy", "put", 0},
      {"GET", "/v1/verdicts/a/b", "get", 0},
      {"GET", "/v1/verdictsX", nullptr, 404},  // a subtree is the path or below a '/'
      {"GET", "/items/x", nullptr, 404},        // exact is exact
      {"GET", "/nope", nullptr, 404},
      {"GET", "/?/items", nullptr, 404},  // the query is not the path
      {"POST", "/items", "list", 405},    // a 405 names the path's first route
      {"DELETE", "/v1/verdicts/x", "get", 405},
      {"get", "/items", "list", 405},  // methods are case-sensitive (RFC 9110 9.1)
  };
  for (const Case& c : cases) {
    const Router::Found found = router.find(c.method, c.target);
    if (c.route == nullptr) {
      EXPECT_EQ(found.route, nullptr) << c.method << " " << c.target;
    } else {
      ASSERT_NE(found.route, nullptr) << c.method << " " << c.target;
      EXPECT_EQ(found.route->name, c.route) << c.method << " " << c.target;
    }
    EXPECT_EQ(found.refusal ? found.refusal->status : 0U, c.refusal) << c.method << " " << c.target;
  }
}

TEST(Router, RefusalsSayWhatWasWrong) {
  const Router router = sample();
  EXPECT_EQ(router.find("GET", "/nope?a=b").refusal->body, "not found: /nope");
  EXPECT_EQ(router.find("POST", "/items").refusal->body, "method not allowed: use GET or DELETE");
  EXPECT_EQ(router.find("POST", "/v1/verdicts/x").refusal->body, "method not allowed: use GET or PUT");
  EXPECT_EQ(router.find("POST", "/items").refusal->content_type, "text/plain") << "the listener's error form";
}

TEST(Router, A404QuotesAtMostTheListenersLengthOfThePath) {
  const Router router = sample(5);
  EXPECT_EQ(router.find("GET", "/abcdefgh").refusal->body, "not found: /abcd");
}

TEST(Router, HandleCallsTheRouteOrAnswersTheRefusal) {
  const Router router = sample();
  const HttpAnswer put = run_awaitable(router.handle(HttpRequest{"PUT", "/v1/verdicts/d?x", "", "", "body"}));
  EXPECT_EQ(put.status, 200U);
  EXPECT_EQ(put.body, "PUT /v1/verdicts/d?x body");
  const HttpAnswer refused = run_awaitable(router.handle(HttpRequest{"PATCH", "/items", "", "", ""}));
  EXPECT_EQ(refused.status, 405U);
  EXPECT_EQ(refused.body, "method not allowed: use GET or DELETE");
  EXPECT_EQ(run_awaitable(router.handle(HttpRequest{"GET", "/missing", "", "", ""})).status, 404U);
}

TEST(Router, TheFirstMatchingRouteWins) {
  Router router(plain_error);
  router.add("GET", "/a/b", Router::Match::exact, [](HttpRequest) { return named("exact"); }, "exact");
  router.add("GET", "/a", Router::Match::subtree, [](HttpRequest) { return named("subtree"); }, "subtree");
  EXPECT_EQ(run_awaitable(router.handle(HttpRequest{"GET", "/a/b", "", "", ""})).body, "exact");
  EXPECT_EQ(run_awaitable(router.handle(HttpRequest{"GET", "/a/c", "", "", ""})).body, "subtree");
}

}  // namespace
}  // namespace imagegate::webhook
