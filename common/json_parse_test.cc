#include "common/json_parse.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace qbench {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(JsonParseTest, ParsesWithinTheLimits) {
  auto j = ParseJson(R"({"a": [1, {"b": "[[[{{{"}], "c": 2.5})", "spec");
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)["a"][1]["b"], "[[[{{{");
  EXPECT_EQ(JsonNestingDepth(R"({"a": [1, {"b": "[[[{{{\"]]"}]})", false, 100), 3);
}

TEST(JsonParseTest, NumberBeyondADoubleIsAnErrorNotAnException) {
  auto j = ParseJson(R"({"samples": 1e400})", "job spec");
  EXPECT_EQ(j.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(j.status()), HasSubstr("job spec: not valid JSON: a number is too large"));
  EXPECT_THAT(Message(j.status()), Not(HasSubstr("1e400")));
  EXPECT_FALSE(ParseJson("-1e999", "x").ok());
}

TEST(JsonParseTest, DeepNestingIsRefusedBeforeParsing) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');  // 200 KB
  auto j = ParseJson(deep, "job spec");
  EXPECT_EQ(j.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(j.status()), HasSubstr("deeper than 64 levels"));
  // Unbalanced and inside an object: still counted.
  EXPECT_FALSE(ParseJson(R"({"name": )" + std::string(100000, '['), "job spec").ok());
  // Exactly at the limit parses; one more does not.
  JsonLimits limits;
  limits.max_depth = 3;
  EXPECT_TRUE(ParseJson("[[[1]]]", "x", limits).ok());
  EXPECT_FALSE(ParseJson("[[[[1]]]]", "x", limits).ok());
  // Brackets in strings and (when allowed) comments do not count; a quote in a comment
  // does not hide the brackets after it.
  limits.allow_comments = true;
  EXPECT_TRUE(ParseJson("// [[[[[ \"\n[[\"]]]]]\"]]", "x", limits).ok());
  EXPECT_FALSE(ParseJson("/* \" */ [[[[1]]]]", "x", limits).ok());
}

TEST(JsonParseTest, SizeLimitAndSyntaxErrorsNameTheDocumentNotItsBytes) {
  JsonLimits limits;
  limits.max_bytes = 10;
  EXPECT_THAT(Message(ParseJson("[1, 2, 3, 4, 5]", "manifest m.json", limits).status()),
              HasSubstr("manifest m.json: is 15 bytes, the limit is 10"));
  auto bad = ParseJson("{\"k\": secret-bytes}", "job spec");
  EXPECT_THAT(Message(bad.status()), HasSubstr("job spec: not valid JSON: parse error at line 1, column"));
  EXPECT_THAT(Message(bad.status()), Not(HasSubstr("secret")));
  EXPECT_THAT(Message(bad.status()), Not(HasSubstr("json.exception")));
  EXPECT_FALSE(ParseJson("", "x").ok());
  EXPECT_FALSE(ParseJson("\"\xff\"", "x").ok());  // not UTF-8
  EXPECT_FALSE(ParseJson("[1] // c", "x").ok());  // comments only when allowed
}

TEST(JsonParseTest, IntegersAreRangeCheckedBeforeNarrowing) {
  EXPECT_EQ(*JsonInteger(json(8), 2, 8), 8);
  EXPECT_EQ(*JsonInteger(json::parse("1e6"), 0, 1000000), 1000000);  // an integral float
  EXPECT_EQ(*JsonInteger(json(-3), -5, 5), -3);
  EXPECT_THAT(Message(JsonInteger(json(4294967304), 2, 8).status()), HasSubstr("must be in 2..8, got 4294967304"));
  EXPECT_FALSE(JsonInteger(json(-4294967295), 0, 1024).ok());
  EXPECT_THAT(Message(JsonInteger(json(1.5), 1, 4096).status()), HasSubstr("must be an integer, got 1.5"));
  EXPECT_FALSE(JsonInteger(json::parse("18446744073709551615"), 0, INT64_MAX).ok());
  EXPECT_FALSE(JsonInteger(json::parse("1e18"), 1, 1000000).ok());
  EXPECT_FALSE(JsonInteger(json::parse("9.3e18"), INT64_MIN, INT64_MAX).ok());  // would overflow a cast
  EXPECT_THAT(Message(JsonInteger(json("8"), 2, 8).status()), HasSubstr("got a string"));
  EXPECT_FALSE(JsonInteger(json(true), 0, 1).ok());

  EXPECT_EQ(*JsonUnsigned(json::parse("18446744073709551615")), UINT64_MAX);
  EXPECT_FALSE(JsonUnsigned(json(-1)).ok());
  EXPECT_FALSE(JsonUnsigned(json(0.5)).ok());

  EXPECT_EQ(*JsonNumber(json(2), 0, 600), 2.0);
  EXPECT_THAT(Message(JsonNumber(json(1e18), 0, 600).status()), HasSubstr("must be in 0..600"));
  EXPECT_FALSE(JsonNumber(json(-0.1), 0, 600).ok());
  EXPECT_FALSE(JsonNumber(json("1"), 0, 600).ok());
}

}  // namespace
}  // namespace qbench
