// focusctl report --format html: one page that a browser or a mail client
// shows without fetching anything (the Content-Security-Policy forbids it,
// and there is no script to run). Each chart is followed by the same
// figures as a table, for screen readers and for mail clients that drop SVG.
// Every name on the page goes through Markup, which escapes it.
#include "cli/markup.hpp"
#include "cli/report.hpp"

#include <algorithm>
#include <array>

namespace focus::cli {

using nlohmann::json;

namespace {

constexpr const char* kStyle =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2329;max-width:54rem;"
    "margin:1.5rem auto;padding:0 1rem;line-height:1.4}"
    "h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:1.75rem 0 .5rem}"
    ".meta{color:#55606b;margin:0}.fresh{color:#1b7f3b;font-weight:600}.stale{color:#b3261e;font-weight:600}"
    "figure{margin:1rem 0}svg{max-width:100%;height:auto}svg text{font-size:12px;fill:#1d2329}"
    "figcaption{color:#55606b;font-size:.9rem}.legend span{margin-right:1rem;white-space:nowrap}"
    "table{border-collapse:collapse;margin:.5rem 0;font-size:.95rem}caption{text-align:left;color:#55606b;"
    "padding-bottom:.25rem}th,td{padding:.25rem .6rem;border-bottom:1px solid #dde2e6;text-align:left}"
    "th{background:#f4f6f8}.num{text-align:right;font-variant-numeric:tabular-nums}.over{color:#b3261e}";

// Nothing is fetched and nothing runs, whatever the page holds.
constexpr const char* kPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

constexpr const char* kTracked = "#3b6fb6";
constexpr const char* kOver = "#c8453b";
constexpr const char* kEstimate = "#1d2329";
constexpr const char* kPlot = "#f4f6f8";

// One colour per kind of change, in kSummaryRows' order (report.cpp).
constexpr std::array<const char*, 10> kKindColours = {"#3b6fb6", "#8fb3e0", "#7a5cb0", "#9aa5b1", "#d08a2b",
                                                      "#e5c07b", "#c8453b", "#4f9d69", "#2d8c8c", "#6b4226"};

std::string px(double v) { return number_text(v, 2); }

// A label that fits its column; the whole name is in the bar's title and in the table.
std::string short_label(const std::string& name, std::size_t max_chars = 28) {
  std::size_t chars = 0, i = 0;
  for (; i < name.size(); ++i)
    if ((static_cast<unsigned char>(name[i]) & 0xC0) != 0x80 && ++chars > max_chars - 1) break;
  return i < name.size() ? name.substr(0, i) + "\u2026" : name;
}

void page_start(Markup& m, const std::string& title, const ReportHeader& h) {
  m.open("html", {{"lang", "en"}}).open("head");
  m.empty("meta", {{"charset", "utf-8"}});
  m.empty("meta", {{"http-equiv", "Content-Security-Policy"}, {"content", kPolicy}});
  m.empty("meta", {{"name", "viewport"}, {"content", "width=device-width, initial-scale=1"}});
  m.element("title", {}, title + " \u2014 focussync " + h.workspace);
  m.style(kStyle).close().open("body").open("header");
  m.element("h1", {}, title);
  m.open("p", {{"class", "meta"}}).text("Workspace " + h.workspace + " \u00b7 ");
  m.text(h.synced ? "synced " + *h.synced + " " : "never synced ");  // to the second (report.cpp)
  m.element("span", {{"class", h.stale ? "stale" : "fresh"}}, h.stale ? "stale" : "fresh").close();
  m.element("p", {{"class", "meta"}}, "Generated " + h.generated + " by focusctl " FOCUSSYNC_VERSION);
  m.close().open("main");
}

std::string page_end(Markup& m) {
  m.close().close().close();  // main, body, html
  return m.finish();
}

// The rows as an HTML table, cell for cell what the text formats print.
void figures_table(Markup& m, const std::string& caption, const std::vector<Column>& columns,
                   const std::vector<json>& rows) {
  m.open("table").element("caption", {}, caption).open("thead").open("tr");
  for (const auto& c : columns) m.element("th", {{"scope", "col"}, {"class", c.number ? "num" : ""}}, c.title);
  m.close().close().open("tbody");
  for (const auto& row : rows) {
    m.open("tr");
    for (std::size_t i = 0; i < columns.size(); ++i) {
      const auto it = row.find(columns[i].key);
      const std::string cell = it == row.end() ? "" : cell_text(*it);
      if (i == 0) m.element("th", {{"scope", "row"}}, cell);
      else m.element("td", {{"class", columns[i].number ? "num" : ""}}, cell);
    }
    m.close();
  }
  m.close().close();
}

// --- by group ---------------------------------------------------------------

struct BarLayout {
  static constexpr double width = 760, label_right = 200, plot_x = 210, plot_width = 430;
  static constexpr double row = 26, bar = 16;
};

bool over_estimate(double estimated, double tracked) { return estimated > 0 && tracked > estimated; }

void group_bar(Markup& m, const std::string& name, double estimated, double tracked, double scale, double y) {
  using L = BarLayout;
  const bool over = over_estimate(estimated, tracked);
  const double bar_end = L::plot_x + tracked * scale;
  m.element("text", {{"x", px(L::label_right)}, {"y", px(y + 13)}, {"text-anchor", "end"}}, short_label(name));
  m.open("rect", {{"class", over ? "bar over" : "bar"},
                  {"data-group", name},
                  {"x", px(L::plot_x)},
                  {"y", px(y + (L::row - L::bar) / 2)},
                  {"width", px(tracked * scale)},
                  {"height", px(L::bar)},
                  {"fill", over ? kOver : kTracked}});
  m.element("title", {}, name + ": " + number_text(tracked) + " h tracked, " + number_text(estimated) + " h estimated" +
                             (over ? " (over)" : ""));
  m.close();
  double label_x = bar_end;
  if (estimated > 0) {
    const double x = L::plot_x + estimated * scale;
    m.empty("rect", {{"class", "estimate"}, {"x", px(x - 1)}, {"y", px(y + 2)}, {"width", "2"},
                     {"height", px(L::row - 4)}, {"fill", kEstimate}});
    label_x = std::max(label_x, x);
  }
  std::string label = number_text(tracked) + " h" + (estimated > 0 ? " of " + number_text(estimated) + " h" : "");
  m.element("text", {{"x", px(label_x + 6)}, {"y", px(y + 13)}, {"class", over ? "over" : ""}},
            over ? label + " \u25b2 over" : label);
}

void group_chart(Markup& m, const GroupFigures& f) {
  using L = BarLayout;
  double max_value = 0;
  for (const auto& r : f.rows)
    max_value = std::max({max_value, r["estimated_hours"].get<double>(), r["tracked_hours"].get<double>()});
  const double scale = max_value > 0 ? L::plot_width / max_value : 0;
  const double height = L::row * static_cast<double>(f.rows.size()) + 8;
  m.open("figure");
  m.open("svg", {{"xmlns", "http://www.w3.org/2000/svg"}, {"width", px(L::width)}, {"height", px(height)},
                 {"viewBox", "0 0 " + px(L::width) + " " + px(height)}, {"role", "img"},
                 {"aria-labelledby", "chart-title"}});
  m.element("title", {{"id", "chart-title"}}, "Hours tracked against estimated, by " + f.by);
  m.empty("rect", {{"class", "plot"}, {"x", px(L::plot_x)}, {"y", "0"}, {"width", px(L::plot_width)},
                   {"height", px(height - 8)}, {"fill", kPlot}});
  double y = 0;
  for (const auto& r : f.rows) {
    group_bar(m, r[f.by].get<std::string>(), r["estimated_hours"].get<double>(), r["tracked_hours"].get<double>(),
              scale, y);
    y += L::row;
  }
  m.close();
  m.element("figcaption", {},
            "Bars: hours tracked; black marks: hours estimated; red bars: the group tracked more than its estimate. "
            "The same figures are in the table below.");
  m.close();
}

void over_list(Markup& m, const GroupFigures& f) {
  m.element("h2", {}, "Projects over their estimate");
  if (f.over.empty()) {
    m.element("p", {}, "None.");
    return;
  }
  m.open("ul");
  for (const auto& [group, project] : f.over)
    m.open("li").element("span", {{"class", "over"}}, project).text(" \u2014 " + group).close();
  m.close();
}

// --- changes per day ----------------------------------------------------------

struct ColumnLayout {
  static constexpr double width = 760, plot_x = 48, plot_width = 700, top = 10, plot_height = 200, height = 250;
  static constexpr std::size_t max_columns = 90;
};

using Days = std::chrono::sys_days;

std::string day_text(Days d) { return format_date(std::chrono::year_month_day(d)); }

// The chart's columns: one per day of the window, or per run of days when
// the window is longer than ColumnLayout::max_columns days.
struct Buckets {
  Days first;
  int days_per_column = 1;
  std::size_t count = 0;
};

Buckets buckets_of(const ChangeFigures& f) {
  Buckets b;
  b.first = std::chrono::floor<std::chrono::days>(f.since);
  const auto days = (std::chrono::floor<std::chrono::days>(f.until) - b.first).count() + 1;
  b.days_per_column = static_cast<int>((days + ColumnLayout::max_columns - 1) / ColumnLayout::max_columns);
  b.count = static_cast<std::size_t>((days + b.days_per_column - 1) / b.days_per_column);
  return b;
}

// Whether any change of kind k (in the order of f.kinds) is in the window:
// the legend and the per-day table leave out the kinds that are not.
bool kind_present(const ChangeFigures& f, std::size_t k) {
  return k < f.rows.size() && f.rows[k]["count"].get<long long>() > 0;
}

// Counts per column, per kind (in the order of f.kinds).
std::vector<std::vector<long long>> column_counts(const ChangeFigures& f, const Buckets& b) {
  std::vector<std::vector<long long>> counts(b.count, std::vector<long long>(f.kinds.size(), 0));
  for (const auto& [day, kinds] : f.per_day) {
    const auto column = static_cast<std::size_t>((day - b.first).count() / b.days_per_column);
    if (column >= b.count) continue;
    for (std::size_t k = 0; k < f.kinds.size(); ++k)
      if (auto it = kinds.find(f.kinds[k]); it != kinds.end()) counts[column][k] += it->second;
  }
  return counts;
}

void change_column(Markup& m, const ChangeFigures& f, const std::vector<long long>& counts, double x, double w,
                   double scale, const std::string& day) {
  using L = ColumnLayout;
  m.open("g", {{"class", "column"}, {"data-day", day}});
  double bottom = L::top + L::plot_height;
  for (std::size_t k = 0; k < counts.size(); ++k) {
    if (counts[k] == 0) continue;
    const double h = static_cast<double>(counts[k]) * scale;
    bottom -= h;
    m.open("rect", {{"class", "segment"}, {"data-kind", f.kinds[k]}, {"data-count", std::to_string(counts[k])},
                    {"x", px(x)}, {"y", px(bottom)}, {"width", px(w)}, {"height", px(h)},
                    {"fill", kKindColours[k % kKindColours.size()]}});
    m.element("title", {}, day + ": " + std::to_string(counts[k]) + " " + f.kinds[k]).close();
  }
  m.close();
}

void change_chart(Markup& m, const ChangeFigures& f, const Buckets& b, const std::vector<std::vector<long long>>& counts) {
  using L = ColumnLayout;
  long long max_total = 0;
  for (const auto& c : counts) {
    long long t = 0;
    for (auto n : c) t += n;
    max_total = std::max(max_total, t);
  }
  const double scale = max_total > 0 ? L::plot_height / static_cast<double>(max_total) : 0;
  const double step = L::plot_width / static_cast<double>(b.count);
  m.open("figure").open("svg", {{"xmlns", "http://www.w3.org/2000/svg"}, {"width", px(L::width)},
                                {"height", px(L::height)}, {"viewBox", "0 0 " + px(L::width) + " " + px(L::height)},
                                {"role", "img"}, {"aria-labelledby", "chart-title"}});
  m.element("title", {{"id", "chart-title"}}, "Changes per day, by kind");
  m.empty("rect", {{"class", "plot"}, {"x", px(L::plot_x)}, {"y", px(L::top)}, {"width", px(L::plot_width)},
                   {"height", px(L::plot_height)}, {"fill", kPlot}});
  m.element("text", {{"x", px(L::plot_x - 6)}, {"y", px(L::top + 10)}, {"text-anchor", "end"}}, std::to_string(max_total));
  m.element("text", {{"x", px(L::plot_x - 6)}, {"y", px(L::top + L::plot_height)}, {"text-anchor", "end"}}, "0");
  const std::size_t label_every = std::max<std::size_t>(1, b.count / 6);
  for (std::size_t i = 0; i < b.count; ++i) {
    const auto day = day_text(b.first + std::chrono::days(static_cast<long>(i) * b.days_per_column));
    const double x = L::plot_x + step * static_cast<double>(i);
    change_column(m, f, counts[i], x + step * 0.15, step * 0.7, scale, day);
    if (i % label_every == 0 || i + 1 == b.count)
      m.element("text", {{"x", px(x + step / 2)}, {"y", px(L::top + L::plot_height + 18)}, {"text-anchor", "middle"}},
                day.substr(5));
  }
  m.close().open("figcaption", {{"class", "legend"}});
  for (std::size_t k = 0; k < f.kinds.size(); ++k) {
    if (!kind_present(f, k)) continue;
    m.open("span").open("svg", {{"width", "10"}, {"height", "10"}, {"aria-hidden", "true"}});
    m.empty("rect", {{"width", "10"}, {"height", "10"}, {"fill", kKindColours[k % kKindColours.size()]}});
    m.close().text(" " + f.kinds[k]).close();
  }
  m.close().close();
}

// The chart's figures as a table: a row per column that holds any change.
void per_day_table(Markup& m, const ChangeFigures& f, const Buckets& b, const std::vector<std::vector<long long>>& counts) {
  std::vector<Column> columns = {{"day", b.days_per_column == 1 ? "day" : "from"}};
  for (std::size_t k = 0; k < f.kinds.size(); ++k)
    if (kind_present(f, k)) columns.push_back({f.kinds[k], f.kinds[k], true});
  std::vector<json> rows;
  for (std::size_t i = 0; i < b.count; ++i) {
    json row = {{"day", day_text(b.first + std::chrono::days(static_cast<long>(i) * b.days_per_column))}};
    long long total = 0;
    for (std::size_t k = 0; k < f.kinds.size(); ++k) {
      row[f.kinds[k]] = counts[i][k];
      total += counts[i][k];
    }
    if (total > 0) rows.push_back(std::move(row));
  }
  figures_table(m, "Changes per day (UTC)", columns, rows);
}

}  // namespace

std::string group_report_html(const ReportHeader& h, const GroupFigures& f) {
  Markup m;
  page_start(m, "Projects by " + f.by, h);
  if (f.rows.empty()) m.element("p", {}, "The workspace holds no projects.");
  else group_chart(m, f);
  figures_table(m, "Figures by " + f.by + " (hours; billable value in the projects' currency)", f.columns, f.rows);
  over_list(m, f);
  return page_end(m);
}

std::string change_report_html(const ReportHeader& h, const ChangeFigures& f) {
  Markup m;
  page_start(m, "Changes since " + format_rfc3339(std::chrono::floor<std::chrono::seconds>(f.since)), h);
  const Buckets b = buckets_of(f);
  const auto counts = column_counts(f, b);
  long long total = 0;
  for (const auto& r : f.rows) total += r["count"].get<long long>();
  if (total == 0) m.element("p", {}, "No changes in this window.");
  else change_chart(m, f, b, counts);
  figures_table(m, "Changes by kind", f.columns, f.rows);
  if (total > 0) per_day_table(m, f, b, counts);
  return page_end(m);
}

}  // namespace focus::cli
