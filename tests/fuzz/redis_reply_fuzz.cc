// libFuzzer target for what imagegate reads back from Redis: arbitrary bytes as a RESP stream through
// hiredis's reply reader (the parser under every RedisConnection command), each reply walked as the Redis
// verdict store walks an inventory page (verifier/verdict/redis_inventory_codec.h: members and their
// scores), and the bytes as a `redis://` URL. A member that reads as an entry writes back to the same
// member's entry (the codec round-trips); no reply crashes the walk. The shared signature and digest
// answers stored in Redis have their own targets (shared_answer_fuzz, signature_answer_fuzz).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "verifier/redis/redis_connection.h"
#include "verifier/verdict/redis_inventory_codec.h"

namespace {

using namespace imagegate::verifier;

bool same(const InventoryEntry& a, const InventoryEntry& b) {
  return a.namespace_name == b.namespace_name && a.kind == b.kind && a.name == b.name && a.image == b.image &&
         a.digest == b.digest;
}

void walk(const redisReply* r, int depth) {
  (void)to_int(r);
  if (r->type == REDIS_REPLY_STRING) {
    InventoryEntry e;
    if (parse_member(std::string_view(r->str, r->len), e)) {
      InventoryEntry again;
      if (!parse_member(inventory_member(e), again) || !same(e, again)) std::abort();
    }
  }
  if (r->type == REDIS_REPLY_ARRAY && depth < 8) {
    for (std::size_t i = 0; i < r->elements; ++i) walk(r->element[i], depth + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)parse_redis_url(text);
  redisReader* reader = redisReaderCreate();
  if (reader == nullptr) return 0;
  if (redisReaderFeed(reader, text.data(), text.size()) == REDIS_OK) {
    for (int n = 0; n < 1000; ++n) {
      void* reply = nullptr;
      if (redisReaderGetReply(reader, &reply) != REDIS_OK || reply == nullptr) break;
      walk(static_cast<const redisReply*>(reply), 0);
      freeReplyObject(reply);
    }
  }
  redisReaderFree(reader);
  return 0;
}
