#include "store/sql_reader.hpp"

#include "core/text.hpp"
#include "core/time.hpp"
#include "core/utf8.hpp"

#include <malloc.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace focus::store {

using nlohmann::json;

namespace {

// What a query may call besides reading the views: pure functions of their
// arguments (no randomness, no file or extension access, no huge blobs).
constexpr std::array<std::string_view, 52> kFunctions = {
    "abs", "avg", "char", "coalesce", "count", "date", "datetime", "focus_time", "format", "glob", "group_concat",
    "hex", "ifnull", "iif", "instr", "json", "json_array", "json_array_length", "json_extract", "json_group_array",
    "json_group_object", "json_object", "json_quote", "json_type", "json_valid", "julianday", "length", "like",
    "lower", "ltrim", "max", "min", "nullif", "printf", "quote", "replace", "round", "rtrim", "sign", "strftime",
    "substr", "substring", "sum", "time", "total", "trim", "typeof", "unicode", "unixepoch", "upper", "ceil",
    "floor"};

// Table-valued functions a query may read from (over its own JSON).
constexpr std::array<std::string_view, 2> kTableFunctions = {"json_each", "json_tree"};

template <std::size_t N>
bool listed(const std::array<std::string_view, N>& list, const char* name) {
  return name && std::find(list.begin(), list.end(), std::string_view(name)) != list.end();
}

bool is_view(const char* name) {
  if (!name) return false;
  for (const auto& v : sql_views())
    if (std::string_view(name) == v.name) return true;
  return false;
}

// focus_time(µs since the epoch): the cache's times as RFC 3339, written by
// the same function as everywhere else (core/time.hpp).
void focus_time(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return sqlite3_result_null(ctx);
  const Timestamp t{std::chrono::microseconds(sqlite3_value_int64(argv[0]))};
  const std::string text = format_rfc3339(t);
  sqlite3_result_text(ctx, text.c_str(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

std::string view_sql(const SqlView& v) {
  std::string sql = std::string("CREATE TEMP VIEW ") + v.name + " AS SELECT ";
  for (std::size_t i = 0; i < v.columns.size(); ++i)
    sql += (i ? ", " : "") + std::string(v.columns[i].expression) + " AS " + v.columns[i].name;
  return sql + " FROM " + v.source();
}

void exec_or_throw(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw SqlRefused(503, "the SQL views could not be made: " + message);
  }
}

json cell(sqlite3_stmt* st, int i) {
  switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER: return sqlite3_column_int64(st, i);
    case SQLITE_FLOAT: return sqlite3_column_double(st, i);
    case SQLITE_NULL: return nullptr;
    case SQLITE_BLOB: {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(st, i));
      return valid_utf8(std::string_view(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(st, i))));
    }
    default: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
      return valid_utf8(std::string_view(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(st, i))));
    }
  }
}

// What a text cell weighs in the answer's JSON: its bytes, a control
// character escaped as \u00XX (six), a quote or backslash as two, and a
// text that is not UTF-8 as if each byte became U+FFFD (three), as cell()
// makes it.
std::size_t json_text_bytes(std::string_view text) {
  if (!is_valid_utf8(text)) return 3 * text.size() + 2;
  std::size_t bytes = text.size() + 2;
  for (unsigned char c : text) bytes += c < 0x20 ? 5 : (c == '"' || c == '\\') ? 1 : 0;
  return bytes;
}

// What a row adds to an answer, as SqlLimits::max_answer_bytes counts it:
// each text or blob cell its JSON's bytes, and every cell 8 more. (A number
// is not asked for its bytes: SQLite would turn it into text to count them.)
std::size_t answer_bytes_of_row(sqlite3_stmt* st, int columns) {
  std::size_t bytes = 0;
  for (int i = 0; i < columns; ++i) {
    bytes += 8;
    const int type = sqlite3_column_type(st, i);
    if (type != SQLITE_TEXT && type != SQLITE_BLOB) continue;
    const auto* p = type == SQLITE_TEXT ? reinterpret_cast<const char*>(sqlite3_column_text(st, i))
                                        : static_cast<const char*>(sqlite3_column_blob(st, i));
    bytes += json_text_bytes(std::string_view(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(st, i))));
  }
  return bytes;
}

struct Finalize {
  void operator()(sqlite3_stmt* st) const { sqlite3_finalize(st); }
};
using Statement = std::unique_ptr<sqlite3_stmt, Finalize>;

}  // namespace

json sql_param_from_text(std::string_view text) {
  if (auto i = parse_integer<std::int64_t>(text)) return *i;
  const std::string s(text);
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(s.c_str(), &end);
  const bool decimal = !s.empty() && end == s.c_str() + s.size() && errno == 0 && std::isfinite(d) &&
                       s.find_first_not_of("+-0123456789.eE") == std::string::npos;
  return decimal ? json(d) : json(s);
}

SqlReader::SqlReader(const std::string& cache_path, SqlLimits limits) : limits_(limits) {
  if (sqlite3_open_v2(cache_path.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw SqlRefused(503, "cannot open the cache for SQL: " + why);
  }
  try {
    sqlite3_busy_timeout(db_, 1000);
    // A small page cache, given back after each query: the daemon's idle
    // memory stays what it was before anyone asked.
    exec_or_throw(db_, "PRAGMA cache_size = -512");
    sqlite3_db_config(db_, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
    sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
    sqlite3_db_config(db_, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
    // "name" is a column and nothing else: SQLite would otherwise take a
    // misspelt "nmae" as the text 'nmae' and answer rows that look right.
    sqlite3_db_config(db_, SQLITE_DBCONFIG_DQS_DML, 0, nullptr);
    sqlite3_db_config(db_, SQLITE_DBCONFIG_DQS_DDL, 0, nullptr);
    sqlite3_limit(db_, SQLITE_LIMIT_ATTACHED, 0);
    sqlite3_limit(db_, SQLITE_LIMIT_SQL_LENGTH, static_cast<int>(limits_.max_query_bytes));
    sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, 16 * 1024 * 1024);  // no value (a group_concat, a printf) past 16 MiB
    sqlite3_create_function(db_, "focus_time", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
                            &focus_time, nullptr, nullptr);
    for (const auto& v : sql_views()) exec_or_throw(db_, view_sql(v));
    // The table functions are connected once per connection, by writing
    // their schema: now, before the authorizer would refuse that write.
    exec_or_throw(db_, "SELECT count(*) FROM json_each('[]'); SELECT count(*) FROM json_tree('[]')");
    exec_or_throw(db_, "PRAGMA query_only = 1");
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
  // From here on, only what the authorizer allows.
  sqlite3_set_authorizer(db_, &SqlReader::authorize, this);
  sqlite3_progress_handler(db_, 1000, &SqlReader::progress, this);
}

SqlReader::~SqlReader() { sqlite3_close_v2(db_); }

void SqlReader::interrupt() {
  interrupted_ = true;
  sqlite3_interrupt(db_);
}

int SqlReader::authorize(void*, int action, const char* a, const char* b, const char* database, const char* inner) {
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    case SQLITE_READ: {  // a: table, b: column; database: its schema; inner: the view reading it, if any
      // No schema: a common table expression, not a stored table. A stored
      // table only through one of the views (main.projects is not the view
      // projects, though it has its name).
      const bool temp_view = database && std::string_view(database) == "temp" && is_view(a);
      return !database || is_view(inner) || temp_view || listed(kTableFunctions, a) ? SQLITE_OK : SQLITE_DENY;
    }
    case SQLITE_FUNCTION:  // b: the function's name
      return listed(kFunctions, b) ? SQLITE_OK : SQLITE_DENY;
    default:
      return SQLITE_DENY;
  }
}

int SqlReader::progress(void* self) {
  auto* r = static_cast<SqlReader*>(self);
  const bool left = r->abandoned_ && r->abandoned_->load();
  return r->interrupted_ || left || std::chrono::steady_clock::now() > r->deadline_ ? 1 : 0;
}

void SqlReader::bind(sqlite3_stmt* st, const json& params) {
  const int wanted = sqlite3_bind_parameter_count(st);
  const int given = params.is_array() ? static_cast<int>(params.size()) : 0;
  if (!params.is_null() && !params.is_array()) throw SqlRefused(400, "params must be a JSON array");
  if (wanted != given)
    throw SqlRefused(400, "the query takes " + std::to_string(wanted) + " parameter(s), " + std::to_string(given) +
                              " given");
  for (int i = 0; i < given; ++i) {
    const json& p = params[static_cast<std::size_t>(i)];
    const int at = i + 1;
    if (p.is_null()) sqlite3_bind_null(st, at);
    else if (p.is_boolean()) sqlite3_bind_int(st, at, p.get<bool>() ? 1 : 0);
    else if (p.is_number_integer()) sqlite3_bind_int64(st, at, p.get<std::int64_t>());
    else if (p.is_number()) sqlite3_bind_double(st, at, p.get<double>());
    else if (p.is_string()) sqlite3_bind_text(st, at, p.get_ref<const std::string&>().c_str(), -1, SQLITE_TRANSIENT);
    else throw SqlRefused(400, "parameter " + std::to_string(at) + " is not a string, number, boolean or null");
  }
}

SqlAnswer SqlReader::run(std::string_view query, const json& params, const std::atomic<bool>* abandoned) {
  struct GiveBack {
    SqlReader& reader;
    ~GiveBack() {
      reader.abandoned_ = nullptr;  // the job that owns it may go once this returns
      sqlite3_db_release_memory(reader.db_);
      ::malloc_trim(0);  // this thread's malloc arena too, which glibc would keep
    }
  } give_back{*this};
  abandoned_ = abandoned;
  if (query.size() > limits_.max_query_bytes)
    throw SqlRefused(413, "the query is " + std::to_string(query.size()) + " bytes; the most is " +
                              std::to_string(limits_.max_query_bytes));
  deadline_ = std::chrono::steady_clock::now() + limits_.timeout;
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  if (sqlite3_prepare_v3(db_, query.data(), static_cast<int>(query.size()), 0, &raw, &tail) != SQLITE_OK)
    throw SqlRefused(400, std::string(sqlite3_errmsg(db_)) + " (only the views of /v1/sql/schema may be read)");
  Statement st(raw);
  if (!st) throw SqlRefused(400, "the query is empty");
  // Anything after the first statement but blanks and comments is a second one.
  sqlite3_stmt* next = nullptr;
  const int rest = static_cast<int>(query.data() + query.size() - tail);
  if (rest > 0 && (sqlite3_prepare_v3(db_, tail, rest, 0, &next, nullptr) != SQLITE_OK || next)) {
    sqlite3_finalize(next);
    throw SqlRefused(400, "one statement at a time, please");
  }
  if (!sqlite3_stmt_readonly(st.get())) throw SqlRefused(400, "only reads are allowed");
  bind(st.get(), params);
  SqlAnswer out;
  std::size_t answer_bytes = 0;
  const int n = sqlite3_column_count(st.get());
  for (int i = 0; i < n; ++i) out.columns.emplace_back(sqlite3_column_name(st.get(), i));
  for (;;) {
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) break;
    if (rc == SQLITE_INTERRUPT) {
      if (interrupted_) throw SqlRefused(400, "the query was stopped (focussyncd is stopping)");
      if (abandoned && *abandoned) throw SqlRefused(400, "the query was stopped: its client left");
      throw SqlRefused(400, "the query ran past its time limit of " + std::to_string(limits_.timeout.count()) +
                                " ms ([sql] timeout)");
    }
    if (rc != SQLITE_ROW) throw SqlRefused(400, sqlite3_errmsg(db_));
    if (static_cast<std::int64_t>(out.rows.size()) >= limits_.max_rows) {
      out.truncated = true;
      break;
    }
    // A row that would pass the answer's limit is left out, with the rest.
    const std::size_t row_bytes = answer_bytes_of_row(st.get(), n);
    if (answer_bytes + row_bytes > limits_.max_answer_bytes) {
      out.truncated = true;
      break;
    }
    answer_bytes += row_bytes;
    json row = json::array();
    for (int i = 0; i < n; ++i) row.push_back(cell(st.get(), i));
    out.rows.push_back(std::move(row));
  }
  return out;
}

}  // namespace focus::store
