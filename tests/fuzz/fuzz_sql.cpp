// Fuzzes /v1/sql's reader (store::SqlReader): the input is the query. Two
// caches are alike but for what no view may show: a project's hash and
// listing digest, a field of its body that no view column extracts
// (description), the sync state's last error and the key id of own_users.
// One holds marker A there, the other marker B. Checks:
//  - nothing crashes, and every refusal is a SqlRefused with 400 or 413;
//  - the two answer alike: the same refusal, or the same columns and rows.
//    A query may well print a marker it spells itself (as text, or built
//    from pieces); only an answer that differs has read a hidden value;
//  - the reader still answers a plain query after whatever came before.
#include "store/database.hpp"
#include "store/sql_reader.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <unistd.h>

using namespace focus;

namespace {

[[noreturn]] void broken(const char* what, const std::string& detail) {
  std::fprintf(stderr, "property broken: %s\n%s\n", what, detail.c_str());
  std::abort();
}

// One cache with `hidden` wherever no view may look.
struct Fixture {
  std::string dir;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<store::SqlReader> reader;

  explicit Fixture(const std::string& hidden) {
    char folder[] = "/tmp/fuzz_sql.XXXXXX";
    dir = ::mkdtemp(folder);
    db = std::make_unique<store::Database>(dir + "/cache.db");
    const std::string& m = hidden;
    db->sql().exec(
        "INSERT INTO projects (organization_id, workspace_id, id, body, hash, name, archived, pinned, private, "
        "deleted, first_seen_at, changed_at, listing_digest) VALUES (1, 1, 1000, '{\"id\":1000,\"name\":\"Visible\","
        "\"description\":\"" + m + "\",\"tags\":[{\"id\":5,\"name\":\"t\"}]}', '" + m + "', 'Visible', 0, 0, 0, 0, 1, 1, '" +
        m + "')");
    db->sql().exec("INSERT INTO sync_state (organization_id, workspace_id, last_error) VALUES (1, 1, '" + m + "')");
    db->sql().exec("INSERT INTO own_users (organization_id, key_id, user_id, learned_at) VALUES (1, '" + m + "', 7, 1)");
    reader = std::make_unique<store::SqlReader>(dir + "/cache.db",
                                                store::SqlLimits{std::chrono::milliseconds(50), 200, 64 * 1024});
  }

  // The answer as text, or the refusal's status (its words may quote the
  // query and are not compared), or "timeout".
  std::string answer(const std::string& query) {
    try {
      auto a = reader->run(query, nullptr);
      std::string seen;
      for (const auto& c : a.columns) seen += c + "\n";
      return seen + a.rows.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } catch (const store::SqlRefused& e) {
      if (e.status() != 400 && e.status() != 413) broken("a refusal with another status", query + "\n" + e.what());
      if (std::string_view(e.what()).find("past its time limit") != std::string_view::npos) return "timeout";
      return "refused " + std::to_string(e.status());
    }
  }

  void still_answers(const std::string& after) {
    auto plain = reader->run("SELECT name FROM projects", nullptr);
    if (plain.rows != nlohmann::json::array({nlohmann::json::array({"Visible"})}))
      broken("the reader no longer answers a plain query", after + "\n" + plain.rows.dump());
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture a("FUZZ-SECRET-7f3a");
  static Fixture b("HIDDEN-VALUE-c91");
  const std::string query(reinterpret_cast<const char*>(data), size);
  const std::string seen_a = a.answer(query);
  const std::string seen_b = b.answer(query);
  // A timeout is the one answer that may differ by chance (a busy machine).
  const bool timed_out = seen_a == "timeout" || seen_b == "timeout";
  if (seen_a != seen_b && !timed_out) broken("an answer depends on what no view shows", query + "\n" + seen_a + "\n" + seen_b);
  a.still_answers(query);
  b.still_answers(query);
  return 0;
}
