// Tests for policy/workload.cc: the JSON paths of the typed review model as RFC 6901 pointers (/mutate's
// patch). Decoding objects into a Workload is tested with its decoder,
// tests/webhook/admission/workload_decoder_test.cc.
#include "policy/workload.h"

#include <gtest/gtest.h>

namespace imagegate::policy {
namespace {

TEST(ToJsonPointer, Paths) {
  EXPECT_EQ(to_json_pointer("spec.template.spec.containers[0].image"), "/spec/template/spec/containers/0/image");
  EXPECT_EQ(to_json_pointer("spec.containers[12].image"), "/spec/containers/12/image");
  EXPECT_EQ(to_json_pointer("spec.jobTemplate.spec.template.spec.initContainers[3].image"),
            "/spec/jobTemplate/spec/template/spec/initContainers/3/image");
  EXPECT_EQ(to_json_pointer("a/b.c~d"), "/a~1b/c~0d");
  EXPECT_EQ(to_json_pointer(""), "");
  EXPECT_EQ(to_json_pointer("x[1][2]"), "/x/1/2");
  EXPECT_EQ(to_json_pointer("spec.template.spec.volumes[4].image.reference"),
            "/spec/template/spec/volumes/4/image/reference");
}

}  // namespace
}  // namespace imagegate::policy
