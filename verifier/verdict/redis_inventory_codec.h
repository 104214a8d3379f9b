// How the Redis verdict store (redis_verdict_store.cc) writes inventory entries into Redis and reads
// them back: a member of the sorted set `imagegate:inventory` is the JSON array
// [namespace, kind, name, image, digest]; its score, a Unix time in seconds, comes back as an integer
// or a decimal string. What Redis returns is outside input (another writer, a restored dump): the
// readers refuse what is not ours and never throw. Fuzzed by tests/fuzz/redis_reply_fuzz.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <hiredis.h>

#include "verifier/verdict/verdict_store.h"

namespace imagegate::verifier {

// The member an entry is stored under.
std::string inventory_member(const InventoryEntry& e);
// The member back into an entry's five strings; false when the member is not one of ours.
bool parse_member(std::string_view member, InventoryEntry& e);
// An integer reply, or a string reply starting with a decimal integer (a score); nullopt otherwise.
std::optional<std::int64_t> to_int(const redisReply* r);

}  // namespace imagegate::verifier
