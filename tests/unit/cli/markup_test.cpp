// The markup helper escapes whatever it is given and keeps elements
// balanced; the report pages built with it hold other people's names as
// text, never as markup.
#include "cli/markup.hpp"
#include "cli/report.hpp"

#include <doctest/doctest.h>

#include <regex>

using focus::cli::ChangeFigures;
using focus::cli::escape_html;
using focus::cli::GroupFigures;
using focus::cli::Markup;
using focus::cli::number_text;
using focus::cli::ReportHeader;
using nlohmann::json;

namespace {

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

ReportHeader header() { return {"1/42", "2026-12-06T02:00:00Z", false, "2026-12-06T03:00:00Z"}; }

GroupFigures two_clients(const std::string& first_name) {
  GroupFigures f;
  f.by = "client";
  f.columns = {{"client", "client"}, {"tracked_hours", "tracked h", true}, {"estimated_hours", "est. h", true}};
  f.rows = {{{"client", first_name}, {"estimated_hours", 10.0}, {"tracked_hours", 12.5}},
            {{"client", "Beta & Sons"}, {"estimated_hours", 0.0}, {"tracked_hours", 5.0}}};
  f.over = {{first_name, "Launch <b>site</b>"}};
  return f;
}

// The width attributes of the elements of one class, in document order.
std::vector<double> widths_of(const std::string& page, const std::string& cls) {
  std::vector<double> out;
  const std::regex rect("<rect class=\"" + cls + "\"[^>]* width=\"([0-9.]+)\"");
  for (auto it = std::sregex_iterator(page.begin(), page.end(), rect); it != std::sregex_iterator(); ++it)
    out.push_back(std::stod((*it)[1]));
  return out;
}

}  // namespace

TEST_CASE("text and attribute values are escaped, names stay plain") {
  CHECK(escape_html("<script>alert('x')</script> & \"q\"") ==
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  CHECK(escape_html("caf\xC3\xA9") == "caf\xC3\xA9");                 // UTF-8 passes
  CHECK(escape_html("bad \xFF byte") == "bad \xEF\xBF\xBD byte");     // invalid UTF-8: U+FFFD
  CHECK(escape_html(std::string("nul \0 bell \a", 12)) == "nul \xEF\xBF\xBD bell \xEF\xBF\xBD");
  CHECK(escape_html("tab\tline\n") == "tab\tline\n");

  Markup m;
  m.open("p", {{"title", "\" onmouseover=\"x"}}).text("a < b").close();
  CHECK(m.finish() == "<!DOCTYPE html>\n<p title=\"&quot; onmouseover=&quot;x\">a &lt; b</p>\n");
  CHECK_THROWS_AS(Markup().open("p onclick=x"), std::invalid_argument);
  CHECK_THROWS_AS(Markup().empty("rect", {{"x\"", "1"}}), std::invalid_argument);
  CHECK_THROWS_AS(Markup().style("p{}</style><script>"), std::invalid_argument);
}

TEST_CASE("elements close in order, and an open one is refused at the end") {
  Markup m;
  m.open("ul").open("li").text("x").close();
  CHECK_THROWS_AS(m.finish(), std::logic_error);
  m.close();
  CHECK(m.finish() == "<!DOCTYPE html>\n<ul><li>x</li></ul>\n");
  CHECK_THROWS_AS(Markup().close(), std::logic_error);
  CHECK(Markup().empty("rect", {{"width", "2"}}).finish() == "<!DOCTYPE html>\n<rect width=\"2\"/>\n");
}

TEST_CASE("numbers for attributes and labels") {
  CHECK(number_text(12.5) == "12.5");
  CHECK(number_text(3.0) == "3");
  CHECK(number_text(0.004) == "0");
  CHECK(number_text(-0.001) == "0");
  CHECK(number_text(1.0 / 3) == "0.33");
  CHECK(number_text(std::numeric_limits<double>::quiet_NaN()) == "0");
}

TEST_CASE("a group report: a bar per group, lengths in proportion, names as text") {
  const std::string page = focus::cli::group_report_html(header(), two_clients("<script>alert(1)</script>"));
  CHECK(page.find("<script>") == std::string::npos);
  CHECK(count_of(page, "&lt;script&gt;alert(1)&lt;/script&gt;") >= 2);  // the bar's label and title, the table
  CHECK(page.find("Launch &lt;b&gt;site&lt;/b&gt;") != std::string::npos);
  CHECK(page.find("Content-Security-Policy") != std::string::npos);
  CHECK(page.find("http://") == page.find("http://www.w3.org/2000/svg"));  // the SVG namespace, nothing fetched
  CHECK(page.find("https://") == std::string::npos);
  // Two bars; the longest figure (12.5 h) spans the plot, 5 h two fifths of it.
  auto bars = widths_of(page, "bar over");
  auto plain = widths_of(page, "bar");
  REQUIRE(bars.size() == 1);
  REQUIRE(plain.size() == 1);
  const auto plot = widths_of(page, "plot");
  REQUIRE(plot.size() == 1);
  CHECK(bars[0] == doctest::Approx(plot[0]));
  CHECK(plain[0] == doctest::Approx(plot[0] * 5.0 / 12.5).epsilon(0.001));
  CHECK(count_of(page, "class=\"estimate\"") == 1);  // Beta has no estimate
  CHECK(page.find("Beta &amp; Sons") != std::string::npos);
  CHECK(page.find("<span class=\"fresh\">fresh</span>") != std::string::npos);
}

TEST_CASE("a change report: a segment per day and kind, heights in proportion") {
  ChangeFigures f;
  f.until = *focus::parse_rfc3339("2026-12-06T12:00:00Z");
  f.since = f.until - std::chrono::hours(48);
  f.kinds = {"created", "renamed"};
  f.columns = {{"change", "change"}, {"count", "count", true}};
  f.rows = {{{"change", "created"}, {"count", 3}}, {{"change", "renamed"}, {"count", 1}}};
  const auto day = [](const char* d) { return std::chrono::sys_days(*focus::parse_date(d)); };
  f.per_day[day("2026-12-04")]["created"] = 2;
  f.per_day[day("2026-12-06")]["created"] = 1;
  f.per_day[day("2026-12-06")]["renamed"] = 1;
  const std::string page = focus::cli::change_report_html(header(), f);
  CHECK(count_of(page, "class=\"column\"") == 3);  // 4, 5 and 6 December
  CHECK(count_of(page, "class=\"segment\"") == 3);
  const std::regex segment("data-count=\"([0-9]+)\"[^>]* height=\"([0-9.]+)\"");
  std::vector<std::pair<int, double>> seen;
  for (auto it = std::sregex_iterator(page.begin(), page.end(), segment); it != std::sregex_iterator(); ++it)
    seen.emplace_back(std::stoi((*it)[1]), std::stod((*it)[2]));
  REQUIRE(seen.size() == 3);
  for (const auto& [count, height] : seen) CHECK(height == doctest::Approx(200.0 * count / 2));  // the tallest day: 2
  CHECK(page.find("No changes") == std::string::npos);
}

TEST_CASE("empty reports say so instead of drawing nothing") {
  GroupFigures none;
  none.by = "tag";
  CHECK(focus::cli::group_report_html(header(), none).find("The workspace holds no projects.") != std::string::npos);
  ChangeFigures quiet;
  quiet.until = *focus::parse_rfc3339("2026-12-06T12:00:00Z");
  quiet.since = quiet.until - std::chrono::hours(1);
  quiet.rows = {{{"change", "created"}, {"count", 0}}};
  quiet.kinds = {"created"};
  CHECK(focus::cli::change_report_html(header(), quiet).find("No changes in this window.") != std::string::npos);
}
