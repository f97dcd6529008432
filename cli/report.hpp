#pragma once
// focusctl report's figures, computed once (report.cpp) and then written in
// the format asked for: the rows of every format (table, JSON, NDJSON, CSV)
// are the same rows the HTML page (report_html.cpp) charts and tabulates.
// Values; one thread.

#include "cli/output.hpp"
#include "core/time.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace focus::cli {

// What the page's header says of the workspace the figures are about.
struct ReportHeader {
  std::string workspace;              // "ORG/WS"
  std::optional<std::string> synced;  // RFC 3339; nullopt: never synced
  bool stale = true;
  std::string generated;              // RFC 3339
};

// report --by K: one row per group, in name order.
struct GroupFigures {
  std::string by;  // client, tag, parent or status
  std::vector<Column> columns;
  std::vector<nlohmann::json> rows;  // {K, projects, active, archived, estimated_hours, tracked_hours,
                                     //  over_estimate, billable_value, over_estimate_projects}
  std::vector<std::pair<std::string, std::string>> over;  // (group, project) tracked past its estimate
};

// report --changes-since D: one row per kind of change, in reading order,
// and the same counts per day (UTC) for the chart.
struct ChangeFigures {
  Timestamp since;
  Timestamp until;
  std::vector<Column> columns;
  std::vector<nlohmann::json> rows;  // {change, count}
  std::vector<std::string> kinds;    // the rows' names, in order
  std::map<std::chrono::sys_days, std::map<std::string, long long>> per_day;
};

// One self-contained HTML page (inline CSS and SVG, no script, nothing
// fetched): the header, a chart, the figures as a table, and (groups) the
// projects over their estimate.
std::string group_report_html(const ReportHeader& header, const GroupFigures& figures);
std::string change_report_html(const ReportHeader& header, const ChangeFigures& figures);

}  // namespace focus::cli
