// The verdicts both `vqvae validate` and `vqvae conform` report (harness/check_report.h): the
// table grouped by area, the two verdicts, JSON statuses, JUnit XML; and the float64 references
// the checks judge against (harness/detail/references.h), on examples computed by hand.
#include "test_support.h"

#include <vqvae/harness/check_report.h>
#include <vqvae/conform/detail/referee.h>
#include <vqvae/harness/detail/references.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cmath>

namespace vqvae {
namespace {

std::vector<Check> three_checks() {
  Check a;
  a.name = "first";
  a.area = "data";
  a.detail = "ok";
  Check b;
  b.name = "second <&>";
  b.area = "loss";
  b.fix = 1;
  b.status = Check::Status::failed;
  b.detail = "recon = 2 \"quoted\", expected 1 & more";
  Check c;
  c.name = "third";
  c.area = "data";
  c.status = Check::Status::skipped;
  c.detail = "no kmeans_init in this implementation";
  return {a, b, c};
}

TEST(CheckReport, RowsGroupByAreaWithCountsAndFixes) {
  CheckTableStyle style;
  style.fix_column = true;
  style.by_area = true;
  const std::string table = format_check_rows(three_checks(), style);
  // data's two checks under one heading (first appearance order), then loss.
  const size_t data = table.find("data  1 passed, 0 failed, 1 skipped\n");
  const size_t loss = table.find("loss  0 passed, 1 failed, 0 skipped\n");
  ASSERT_NE(data, std::string::npos) << table;
  ASSERT_NE(loss, std::string::npos) << table;
  EXPECT_LT(data, table.find("third")) << table;
  EXPECT_LT(table.find("third"), loss) << table;
  EXPECT_NE(table.find("\u2717 fix #1  second"), std::string::npos) << table;
  EXPECT_NE(table.find("- " + std::string(6, ' ') + "  third"), std::string::npos) << table;
}

TEST(CheckReport, VerdictSaysFailedWhenOneFailedAndCountsSkipsApart) {
  std::vector<Check> checks = three_checks();
  EXPECT_EQ(format_verdict("conform", checks, false), "conform: FAILED — 1 passed, 1 failed, 1 skipped");
  checks.erase(checks.begin() + 1);
  EXPECT_EQ(format_verdict("conform", checks, false), "conform: OK — 1 passed, 0 failed, 1 skipped");
}

// A check that failed in several cases: the detail names the first "(and N more)"; JSON carries
// every failing case, and the verbose table a row for each further one (the referee's Tally).
TEST(CheckReport, EveryFailingCaseReachesJsonAndTheVerboseTable) {
  conform::Tally tally;
  tally.fail("case a: recon = 2, expected 1");
  tally.pass();
  tally.fail("case b: recon = 5, expected 1");
  tally.fail("case c: no recon");
  const Check c = tally.result("recon");
  EXPECT_EQ(c.status, Check::Status::failed);
  EXPECT_EQ(c.detail, "case a: recon = 2, expected 1 (and 2 more)");
  const auto json = nlohmann::json::parse(format_checks_json({c}));
  ASSERT_EQ(json[0]["failed_cases"].size(), 3u);
  EXPECT_EQ(json[0]["failed_cases"][2]["detail"], "case c: no recon");
  EXPECT_TRUE(json[0]["failed_cases"][2]["numbers"].is_null());
  CheckTableStyle style;
  EXPECT_EQ(format_check_rows({c}, style).find("case b"), std::string::npos);
  style.every_case = true;
  const std::string table = format_check_rows({c}, style);
  EXPECT_NE(table.find("and: case b: recon = 5, expected 1\n"), std::string::npos) << table;
  EXPECT_NE(table.find("and: case c: no recon\n"), std::string::npos) << table;
}

// A verdict over nothing judged is "not run", never "OK": no checks at all (conform --area init
// has no fix checks), or only skipped and not-applicable ones.
TEST(CheckReport, VerdictOverNothingJudgedSaysNotRun) {
  EXPECT_EQ(format_verdict("documented fixes", {}, false), "documented fixes: not run — 0 passed, 0 failed, 0 skipped");
  EXPECT_EQ(verdict({}, false), Verdict::not_run);
  std::vector<Check> checks = three_checks();
  checks.erase(checks.begin(), checks.begin() + 2);  // the skipped one alone
  EXPECT_EQ(format_verdict("conform", checks, false), "conform: not run — 0 passed, 0 failed, 1 skipped");
  checks.push_back(checks.front());
  checks.back().status = Check::Status::not_applicable;
  EXPECT_EQ(verdict(checks, false), Verdict::not_run);
  checks.back().status = Check::Status::passed;
  EXPECT_EQ(verdict(checks, false), Verdict::ok);
  EXPECT_STREQ(to_string(Verdict::not_run), "not_run");
}

TEST(CheckReport, JsonSpellsStatusesInFull) {
  const auto json = nlohmann::json::parse(format_checks_json(three_checks()));
  ASSERT_EQ(json.size(), 3u);
  EXPECT_EQ(json[0]["status"], "passed");
  EXPECT_EQ(json[1]["status"], "failed");
  EXPECT_EQ(json[2]["status"], "skipped");
  EXPECT_EQ(json[1]["fix"], 1);
  EXPECT_TRUE(json[0]["fix"].is_null());
  EXPECT_EQ(json[1]["area"], "loss");
}

TEST(CheckReport, JunitHasOneTestcasePerCheckEscapedWithFailureAndSkip) {
  const std::string xml = format_checks_junit("conform", three_checks(), 1.5);
  EXPECT_NE(xml.find("<testsuite name=\"conform\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\" time=\"1.500\">"),
            std::string::npos) << xml;
  EXPECT_NE(xml.find("classname=\"conform.loss\" name=\"fix #1: second &lt;&amp;&gt;\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message=\"recon = 2 &quot;quoted&quot;, expected 1 &amp; more\">"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<skipped message=\"no kmeans_init in this implementation\"/>"), std::string::npos) << xml;
  size_t testcases = 0;
  for (size_t at = xml.find("<testcase "); at != std::string::npos; at = xml.find("<testcase ", at + 1)) ++testcases;
  EXPECT_EQ(testcases, 3u);
  EXPECT_EQ(xml.find('"' + std::string("second <")), std::string::npos);  // nothing unescaped
}

// conform's outcomes: an expected failure (--expect) does not fail the run and is a pytest-style
// xfail in JUnit; an expected failure that passes is "fixed", red only with --strict; a check not
// applicable is neither a failure nor a skip.
std::vector<Check> outcomes() {
  std::vector<Check> checks = three_checks();
  checks[0].id = "data.first";
  checks[1].id = "loss.second";
  checks[2].id = "data.third";
  checks[1].expected_failure = "known since r12";  // failed, expected
  Check fixed;
  fixed.id = "loss.fourth";
  fixed.area = "loss";
  fixed.detail = "ok now";
  fixed.expected_failure = "was broken";  // passed, expected to fail
  Check inapplicable;
  inapplicable.id = "quantizer.projection.z_q_hard";
  inapplicable.area = "quantizer";
  inapplicable.status = Check::Status::not_applicable;
  inapplicable.detail = "ProjectionVectorQuantizer is not in this implementation";
  checks.push_back(fixed);
  checks.push_back(inapplicable);
  return checks;
}

TEST(CheckReport, ExpectedFailuresFixedAndNotApplicableAreCountedApart) {
  const std::vector<Check> checks = outcomes();
  EXPECT_EQ(outcome(checks[1]), Outcome::expected_failure);
  EXPECT_EQ(outcome(checks[3]), Outcome::fixed);
  EXPECT_EQ(outcome(checks[4]), Outcome::not_applicable);
  EXPECT_FALSE(fails_run(checks[1], true));
  EXPECT_FALSE(fails_run(checks[3], false));
  EXPECT_TRUE(fails_run(checks[3], true));
  EXPECT_EQ(format_verdict("conform", checks, false),
            "conform: OK — 1 passed, 0 failed, 1 skipped, 1 expected failure, 1 fixed, 1 not applicable");
  EXPECT_EQ(format_verdict("conform", checks, false, true).rfind("conform: FAILED", 0), 0u);
  const auto json = nlohmann::json::parse(format_checks_json(checks));
  EXPECT_EQ(json[1]["id"], "loss.second");
  EXPECT_EQ(json[1]["status"], "failed");
  EXPECT_EQ(json[1]["outcome"], "expected_failure");
  EXPECT_EQ(json[1]["expected_failure"], "known since r12");
  EXPECT_EQ(json[3]["outcome"], "fixed");
  EXPECT_EQ(json[4]["status"], "not_applicable");
}

TEST(CheckReport, JunitWritesExpectedFailuresAsXfailAndStrictFixedAsXpassFailures) {
  const std::vector<Check> checks = outcomes();
  const std::string xml = format_checks_junit("conform", checks, 1.0);
  EXPECT_NE(xml.find("name=\"loss.second\""), std::string::npos) << xml;  // named by id
  EXPECT_NE(xml.find("<skipped type=\"pytest.xfail\" message=\"known since r12\">"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<skipped type=\"not_applicable\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("failures=\"0\" errors=\"0\" skipped=\"3\""), std::string::npos) << xml;
  EXPECT_EQ(xml.find("XPASS(strict)"), std::string::npos) << xml;
  const std::string strict = format_checks_junit("conform", checks, 1.0, true);
  EXPECT_NE(strict.find("<failure message=\"[XPASS(strict)] was broken\">"), std::string::npos) << strict;
  EXPECT_NE(strict.find("failures=\"1\" errors=\"0\""), std::string::npos) << strict;
}

TEST(CheckReport, OnlyProblemsHidesPassesButKeepsCounts) {
  CheckTableStyle style;
  style.by_area = true;
  style.only_problems = true;
  const std::string table = format_check_rows(outcomes(), style);
  EXPECT_EQ(table.find("data.first"), std::string::npos) << table;       // passed: counted only
  EXPECT_NE(table.find("x loss.second"), std::string::npos) << table;  // expected failure, with its reason
  EXPECT_NE(table.find("(expected: known since r12)"), std::string::npos) << table;
  EXPECT_NE(table.find("data  1 passed, 0 failed, 1 skipped\n"), std::string::npos) << table;
  EXPECT_EQ(table.find("loss.fourth"), std::string::npos) << table;  // fixed, not strict: not a problem
}

// ------------------------------------------------------------------ references.h by hand

// Codewords (0,0), (3,4), (0,0): norms 0, 5, 0 -> mean 5/3, unbiased std sqrt(((5/3)² + (10/3)² +
// (5/3)²)/2) = 5/√3; pairs (0,1) 5, (0,2) 0, (1,2) 5 -> mean 10/3 (the baseline's "distance > 0"
// filter would give 5: the duplicate's pair counts).
TEST(MetricsReference, CodebookStatsCountDuplicatedPairs) {
  MetricsReference r;
  codebook_stats_reference(torch::tensor({{0.0, 0.0}, {3.0, 4.0}, {0.0, 0.0}}), r);
  EXPECT_NEAR(r.codebook_mean_norm, 5.0 / 3.0, 1e-12);
  EXPECT_NEAR(r.codebook_std_norm, 5.0 / std::sqrt(3.0), 1e-12);
  EXPECT_NEAR(r.codebook_mean_distance, 10.0 / 3.0, 1e-12);
}

// indices (0, 0, 1, 3) of n = 4: usage (1/2, 1/4, 0, 1/4); entropy −Σ p ln(p + 1e-10); min usage
// over the used codes 1/4; one dead code.
TEST(MetricsReference, UtilizationByHand) {
  MetricsReference r;
  utilization_reference(torch::tensor({0, 0, 1, 3}, torch::kLong), 4, r);
  const double entropy = -(0.5 * std::log(0.5 + 1e-10) + 2 * 0.25 * std::log(0.25 + 1e-10) + 0.0);
  EXPECT_NEAR(r.usage_entropy, entropy, 1e-15);
  EXPECT_NEAR(r.perplexity, std::exp(entropy), 1e-12);
  EXPECT_EQ(r.dead_codes, 1);
  EXPECT_DOUBLE_EQ(r.min_usage, 0.25);
  EXPECT_DOUBLE_EQ(r.max_usage, 0.5);
  EXPECT_NEAR(r.usage_std, std::sqrt(0.125 / 3), 1e-12);
}

// A code used once among 20,001 has usage 5.0e-5 < 1e-4: dead, though used; its usage is the min.
TEST(MetricsReference, ACodeUsedOnceAmongManyIsDeadAndTheMinimum) {
  torch::Tensor indices = torch::ones({20001}, torch::kLong);
  indices[7] = 0;
  MetricsReference r;
  utilization_reference(indices, 2, r);
  EXPECT_EQ(r.dead_codes, 1);
  EXPECT_DOUBLE_EQ(r.min_usage, 1.0 / 20001);
}

// z rows (0,0), (1,1); codewords (0,1), (2,2): squared distances (1, 8), (1, 2): nearest 0 and 0;
// choosing 1 for row 1 is 1 farther. Codebook gradient of mse(sg z, c[idx]) with B·k = 4: row 0
// gives 2((0,1) − (0,0))/4, row 1 2((0,1) − (1,1))/4, both to codeword 0: (−0.5, 0.5); codeword 1: 0.
TEST(References, NearestExcessAndCodebookGradientByHand) {
  const torch::Tensor z = torch::tensor({{0.0, 0.0}, {1.0, 1.0}});
  const torch::Tensor c = torch::tensor({{0.0, 1.0}, {2.0, 2.0}});
  EXPECT_TRUE(torch::equal(nearest_codeword_reference(z, c), torch::tensor({0, 0}, torch::kLong)));
  EXPECT_TENSOR_NEAR(excess_squared_distance(z, c, torch::tensor({0, 1}, torch::kLong)),
                     torch::tensor({0.0, 1.0}, torch::kDouble), 1e-15);
  EXPECT_TENSOR_NEAR(codebook_loss_gradient(z, c, torch::tensor({0, 0}, torch::kLong)),
                     torch::tensor({{-0.5, 0.5}, {0.0, 0.0}}, torch::kDouble), 1e-15);
}

// The referee never clamps a driver's indices into range: out of range, not integers or of another
// shape is a failure that says so.
TEST(ConformReferee, IndicesOutOfRangeAreAFailureNotClamped) {
  const torch::Tensor good = torch::tensor({0, 7, 3}, torch::kLong);
  EXPECT_TRUE(conform::bad_indices(&good, 3, 8).empty());
  // Each failure with the offending index's numbers: row, its value, the bound it passes.
  const torch::Tensor high = torch::tensor({0, 8, 3}, torch::kLong);
  const conform::Failure too_high = conform::bad_indices(&high, 3, 8);
  EXPECT_EQ(too_high.why, "indices range over [0, 8], outside the codebook's [0, 7]");
  ASSERT_TRUE(too_high.numbers);
  EXPECT_EQ(too_high.numbers->element, std::vector<int64_t>{1});
  EXPECT_EQ(too_high.numbers->theirs, 8);
  EXPECT_EQ(too_high.numbers->ours, 7);
  const torch::Tensor negative = torch::tensor({-1, 2, 3}, torch::kLong);
  const conform::Failure too_low = conform::bad_indices(&negative, 3, 8);
  EXPECT_NE(too_low.why.find("outside"), std::string::npos);
  ASSERT_TRUE(too_low.numbers);
  EXPECT_EQ(too_low.numbers->element, std::vector<int64_t>{0});
  EXPECT_EQ(too_low.numbers->theirs, -1);
  EXPECT_EQ(too_low.numbers->ours, 0);
  const torch::Tensor fractional = torch::tensor({0.0, 1.5, 2.0});
  const conform::Failure not_whole = conform::bad_indices(&fractional, 3, 8);
  EXPECT_EQ(not_whole.why, "indices are not integers");
  ASSERT_TRUE(not_whole.numbers);
  EXPECT_EQ(not_whole.numbers->element, std::vector<int64_t>{1});
  EXPECT_EQ(not_whole.numbers->theirs, 1.5);
  EXPECT_EQ(not_whole.numbers->difference, 0.5);  // round half to even: 1.5 -> 2
  const conform::Failure wrong_shape = conform::bad_indices(&good, 4, 8);
  EXPECT_EQ(wrong_shape.why, "indices (3), expected (B) = (4)");
  ASSERT_TRUE(wrong_shape.numbers);
  EXPECT_TRUE(wrong_shape.numbers->shape_mismatch());
  EXPECT_EQ(wrong_shape.numbers->theirs_shape, std::vector<int64_t>{3});
  EXPECT_EQ(wrong_shape.numbers->ours_shape, std::vector<int64_t>{4});
  const conform::Failure absent = conform::bad_indices(nullptr, 3, 8);
  EXPECT_EQ(absent.why, "no indices");
  EXPECT_FALSE(absent.numbers);
}

// compare(): the numbers of a failing comparison, by hand. theirs ((1, 2), (3, 4.5)) against ours
// ((1, 2.1), (3, 4)) within 0.05 + 0.1·|ours|: element (0, 1) is 0.1 off with 0.26 allowed, element
// (1, 1) 0.5 off with 0.45 allowed — the one outside.
TEST(ConformReferee, CompareNamesTheElementOutsideItsTolerance) {
  const torch::Tensor theirs = torch::tensor({{1.0, 2.0}, {3.0, 4.5}}, torch::kDouble);
  const torch::Tensor ours = torch::tensor({{1.0, 2.1}, {3.0, 4.0}}, torch::kDouble);
  const auto d = conform::compare(theirs, ours, 0.05, 0.1, "z_q", "codebook[indices]");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->quantity, "z_q");
  EXPECT_EQ(d->ours_is, "codebook[indices]");
  EXPECT_EQ(d->element, (std::vector<int64_t>{1, 1}));
  EXPECT_DOUBLE_EQ(d->theirs, 4.5);
  EXPECT_DOUBLE_EQ(d->ours, 4.0);
  EXPECT_DOUBLE_EQ(d->difference, 0.5);
  EXPECT_DOUBLE_EQ(d->tolerance, 0.45);
  EXPECT_EQ(d->outside, 1);
  EXPECT_EQ(d->elements, 4);
  EXPECT_FALSE(conform::compare(theirs, ours, 0.05, 0.2, "z_q", "codebook[indices]"));  // 0.5 <= 0.05 + 0.2·4
  // The worst element is the one beyond its tolerance by the most, not the largest difference:
  // (10, 1.3) against (9, 1) within 0.2·|ours| — element 0 is 1 off of 1.8 allowed, element 1 0.3 of 0.2.
  const auto relative = conform::compare(torch::tensor({10.0, 1.3}, torch::kDouble), torch::tensor({9.0, 1.0}, torch::kDouble),
                                         0, 0.2, "x", "y");
  ASSERT_TRUE(relative);
  EXPECT_EQ(relative->element, std::vector<int64_t>{1});
  EXPECT_DOUBLE_EQ(relative->max_difference, 1.0);
  // A NaN is outside any tolerance, and the worst.
  const auto nan = conform::compare(torch::tensor({1.0, std::nan(""), 5.0}, torch::kDouble), torch::tensor({1.0, 1.0, 1.0}, torch::kDouble),
                                    0.1, 0, "x", "y");
  ASSERT_TRUE(nan);
  EXPECT_EQ(nan->element, std::vector<int64_t>{1});
  EXPECT_TRUE(std::isnan(nan->theirs));
  EXPECT_EQ(nan->outside, 2);
  // Shapes that differ: only the shapes.
  const auto shape = conform::compare(theirs, ours.t().reshape({4}), 0, 0, "z_q", "q");
  ASSERT_TRUE(shape);
  EXPECT_TRUE(shape->shape_mismatch());
  EXPECT_EQ(shape->theirs_shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(shape->ours_shape, std::vector<int64_t>{4});
}

// The referee's differs(): the line and its numbers, through a response; and JSON's failed_cases.
TEST(ConformReferee, DiffersCarriesItsNumbersIntoJson) {
  GoldenRecord response;
  response.name = "case_a";
  response.datasets = {{"z_q", torch::tensor({1.0, 3.0}, torch::kDouble)}};
  const conform::Failure f = conform::differs(response, "z_q", torch::tensor({1.0, 2.0}, torch::kDouble), "q", 0, 0.1);
  EXPECT_EQ(f.why.rfind("z_q differs from q by up to 1 ", 0), 0u) << f.why;
  ASSERT_TRUE(f.numbers);
  conform::Tally tally;
  tally.fail(f);
  tally.fail("case_b: no z_q");
  const auto json = nlohmann::json::parse(format_checks_json({tally.result("z_q")}));
  const auto& cases = json[0]["failed_cases"];
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0]["numbers"]["element"], nlohmann::json::array({1}));
  EXPECT_EQ(cases[0]["numbers"]["theirs"], 3.0);
  EXPECT_EQ(cases[0]["numbers"]["ours"], 2.0);
  EXPECT_DOUBLE_EQ(cases[0]["numbers"]["tolerance"].get<double>(), 0.2);
  EXPECT_EQ(cases[0]["numbers"]["ours_is"], "q");
  EXPECT_TRUE(cases[1]["numbers"].is_null());
  // JSON has no NaN: null, as in the study's JSON.
  conform::Tally nan_tally;
  nan_tally.fail({"x is NaN", conform::compare(torch::tensor({std::nan("")}, torch::kDouble), torch::tensor({1.0}, torch::kDouble), 0, 0, "x", "1")});
  const auto nan_json = nlohmann::json::parse(format_checks_json({nan_tally.result("x")}));
  EXPECT_TRUE(nan_json[0]["failed_cases"][0]["numbers"]["theirs"].is_null());
}

}  // namespace
}  // namespace vqvae
