// Configuration parsing: short names, objects with a preset and overrides, and errors
// that name the field.
#include <string>

#include <gtest/gtest.h>

#include "spec/quant_config.h"

namespace qbench::quant {
namespace {

using json = nlohmann::json;

void ExpectErrorNames(const absl::Status& s, const std::vector<std::string>& fragments) {
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  for (const std::string& f : fragments)
    EXPECT_NE(std::string(s.message()).find(f), std::string::npos) << "\"" << f << "\" not in: " << s;
}

TEST(ConfigTest, ShortNames) {
  auto c = ConfigFromShortName("w8a8");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "w8a8");
  EXPECT_EQ(c->precision, Precision::kInt);
  EXPECT_EQ(c->weights.bits, 8);
  EXPECT_TRUE(c->weights.per_channel);
  EXPECT_TRUE(c->weights.symmetric);
  EXPECT_EQ(c->activations.bits, 8);
  EXPECT_FALSE(c->activations.is_signed);
  EXPECT_FALSE(c->activations.dynamic);
  EXPECT_EQ(c->activations.method, CalibMethod::kPercentile);
  EXPECT_EQ(c->activations.percentile, 99.99);
  EXPECT_TRUE(c->needs_calibration());

  c = ConfigFromShortName("w4a8");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->weights.bits, 4);
  EXPECT_EQ(c->activations.bits, 8);

  c = ConfigFromShortName("w2a8");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->weights.bits, 2);

  c = ConfigFromShortName("w8a8-dynamic");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->activations.dynamic);
  EXPECT_FALSE(c->needs_calibration());

  c = ConfigFromShortName("fp32");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->precision, Precision::kFp32);
  EXPECT_FALSE(c->needs_calibration());
  c = ConfigFromShortName("bf16");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->precision, Precision::kBf16);
}

TEST(ConfigTest, BadShortNamesNameTheConfig) {
  ExpectErrorNames(ConfigFromShortName("w9a8").status(), {"\"w9a8\"", "weight bits", "[2, 8]"});
  ExpectErrorNames(ConfigFromShortName("w8a3").status(), {"\"w8a3\"", "activation bits"});
  ExpectErrorNames(ConfigFromShortName("w8a4-dynamic").status(), {"\"w8a4-dynamic\"", "dynamic"});
  ExpectErrorNames(ConfigFromShortName("int8").status(), {"unknown configuration \"int8\""});
  // Digits beyond int range are an error, not an exception out of std::stoi.
  ExpectErrorNames(ConfigFromShortName("w99999999999a8").status(), {"\"w99999999999a8\""});
  // Through the spec parser the error also names the list entry.
  ExpectErrorNames(ParseConfig(json("w9a8"), "configs[0]").status(), {"configs[0]", "w9a8"});
  ExpectErrorNames(ParseConfig(json(8), "configs[3]").status(), {"configs[3]", "string or an object"});
}

TEST(ConfigTest, ObjectWithPresetAndOverrides) {
  const json j = json::parse(R"({
    "name": "mine", "preset": "w4a8",
    "weights": {"method": "mse", "granularity": "per_tensor", "symmetric": false},
    "activations": {"method": "entropy", "type": "s8", "symmetric": true},
    "scale": "dyadic", "dyadic_bits": 12,
    "calibration": {"samples": 256, "seed": 7},
    "overrides": [{"node": "conv1", "fp32": true},
                  {"op_type": "Gemm", "weights": {"bits": 8}, "activations": {"method": "minmax"}}]
  })");
  auto c = ParseConfig(j, "configs[1]");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "mine");
  EXPECT_EQ(c->weights.bits, 4);  // from the preset
  EXPECT_EQ(c->weights.method, WeightMethod::kMse);
  EXPECT_FALSE(c->weights.per_channel);
  EXPECT_FALSE(c->weights.symmetric);
  EXPECT_EQ(c->activations.method, CalibMethod::kEntropy);
  EXPECT_TRUE(c->activations.is_signed);
  EXPECT_TRUE(c->activations.symmetric);
  EXPECT_EQ(c->scale, ScaleConstraint::kDyadic);
  EXPECT_EQ(c->dyadic_bits, 12);
  EXPECT_EQ(c->calibration_samples, 256);
  ASSERT_TRUE(c->calibration_seed.has_value());
  EXPECT_EQ(*c->calibration_seed, 7u);
  ASSERT_EQ(c->overrides.size(), 2u);
  EXPECT_EQ(c->overrides[0].node, "conv1");
  EXPECT_TRUE(c->overrides[0].fp32);
  EXPECT_EQ(c->overrides[1].op_type, "Gemm");
  EXPECT_FALSE(c->overrides[1].fp32);
  EXPECT_EQ(c->overrides[1].weight_bits, 8);
  EXPECT_EQ(c->overrides[1].activation_method, CalibMethod::kMinMax);
  EXPECT_FALSE(c->overrides[1].activation_bits.has_value());

  // A name that is itself a short name needs no preset.
  c = ParseConfig(json::parse(R"({"name": "w8a8-dynamic"})"), "configs[0]");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->activations.dynamic);
  // The record of what ran carries the changed fields.
  const json out = ConfigToJson(*ParseConfig(j, "configs[1]"));
  EXPECT_EQ(out["weights"]["method"], "mse");
  EXPECT_EQ(out["activations"]["method"], "entropy");
  EXPECT_EQ(out["scale"], "dyadic");
  EXPECT_EQ(out["overrides"][0]["node"], "conv1");
}

TEST(ConfigTest, ErrorsNameTheField) {
  auto parse = [](const char* text) { return ParseConfig(json::parse(text), "configs[0]").status(); };
  ExpectErrorNames(parse(R"({"name": "x", "weights": {"foo": 1}})"), {"configs[0].weights.foo", "not a known field"});
  ExpectErrorNames(parse(R"({"name": "x", "bogus": 1})"), {"configs[0].bogus"});
  ExpectErrorNames(parse(R"({"name": "x", "weights": {"bits": 9}})"), {"configs[0].weights.bits", "9", "[2, 8]"});
  ExpectErrorNames(parse(R"({"name": "x", "weights": {"bits": 1}})"), {"configs[0].weights.bits", "1"});
  ExpectErrorNames(parse(R"({"name": "x", "activations": {"bits": 3}})"), {"configs[0].activations.bits", "[4, 8]"});
  ExpectErrorNames(parse(R"({"name": "x", "activations": {"method": "kl"}})"),
                   {"configs[0].activations.method", "\"kl\""});
  ExpectErrorNames(parse(R"({"name": "x", "activations": {"percentile": 40}})"), {"configs[0].activations.percentile"});
  ExpectErrorNames(parse(R"({"name": "x", "scale": "log"})"), {"configs[0].scale", "float, power_of_two, dyadic"});
  ExpectErrorNames(parse(R"({"name": "x", "preset": "w9a8"})"), {"configs[0].preset", "w9a8"});
  ExpectErrorNames(parse(R"({"preset": "w8a8"})"), {"configs[0].name", "required"});
  ExpectErrorNames(parse(R"({"name": "x", "calibration": {"samples": 0}})"), {"configs[0].calibration.samples"});
  ExpectErrorNames(parse(R"({"name": "x", "overrides": [{"node": "a", "weights": {"bits": 12}}]})"),
                   {"configs[0].overrides[0].weights.bits", "12"});
  ExpectErrorNames(parse(R"({"name": "x", "overrides": [{"fp32": true}]})"),
                   {"configs[0].overrides[0]", "exactly one of"});
  ExpectErrorNames(parse(R"({"name": "x", "overrides": [{"node": "a", "colour": 1}]})"),
                   {"configs[0].overrides[0].colour"});
  ExpectErrorNames(parse(R"({"name": "x", "preset": "w8a8-dynamic", "activations": {"bits": 4}})"),
                   {"configs[0].activations.bits", "dynamic"});
}

// Issue 17, finding 11: bits are range-checked in 64 bits before narrowing
// (4294967304 = 2^32 + 8 used to run as 8), and wrong types are errors, not exceptions.
TEST(ConfigTest, WideNumbersAndWrongTypesAreErrors) {
  auto parse = [](const char* text) { return ParseConfig(json::parse(text), "configs[0]").status(); };
  ExpectErrorNames(parse(R"({"name": "x", "weights": {"bits": 4294967304}})"),
                   {"configs[0].weights.bits", "4294967304", "[2, 8]"});
  ExpectErrorNames(parse(R"({"name": "x", "activations": {"bits": 18446744073709551615}})"),
                   {"configs[0].activations.bits"});
  ExpectErrorNames(parse(R"({"name": "x", "scale": "dyadic", "dyadic_bits": -4294967280})"), {"configs[0].dyadic_bits"});
  ExpectErrorNames(parse(R"({"name": "x", "overrides": [{"node": "a", "weights": {"bits": 4294967300}}]})"),
                   {"configs[0].overrides[0].weights.bits"});
  ExpectErrorNames(parse(R"({"name": "x", "calibration": {"samples": 18446744073709551615}})"),
                   {"configs[0].calibration.samples"});
  ExpectErrorNames(parse(R"({"name": "x", "preset": 8})"), {"configs[0].preset", "string"});
  ExpectErrorNames(parse(R"({"name": "x", "overrides": [{"node": "a", "weights": 3}]})"),
                   {"configs[0].overrides[0].weights", "object"});
  ExpectErrorNames(parse(R"({"name": "x", "overrides": [{"node": "a", "activations": [1]}]})"),
                   {"configs[0].overrides[0].activations", "object"});
}

}  // namespace
}  // namespace qbench::quant
