// Fuzzes /v1/sql's reader (store::SqlReader): the input is the query. The
// cache under it holds a marker only where no view may look: a project's
// hash and listing digest, a field of its body that no view column
// extracts (description), the sync state's last error and the key id of
// own_users. Checks:
//  - nothing crashes, and every refusal is a SqlRefused with 400 or 413;
//  - no answer (its columns or any cell) ever holds the marker;
//  - the reader still answers a plain query after whatever came before.
#include "store/database.hpp"
#include "store/sql_reader.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <unistd.h>

using namespace focus;

namespace {

constexpr const char* kMarker = "FUZZ-SECRET-7f3a";

[[noreturn]] void broken(const char* what, const std::string& detail) {
  std::fprintf(stderr, "property broken: %s\n%s\n", what, detail.c_str());
  std::abort();
}

struct Fixture {
  std::string dir;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<store::SqlReader> reader;

  Fixture() {
    char folder[] = "/tmp/fuzz_sql.XXXXXX";
    dir = ::mkdtemp(folder);
    db = std::make_unique<store::Database>(dir + "/cache.db");
    const std::string m = kMarker;
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
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture f;
  const std::string query(reinterpret_cast<const char*>(data), size);
  try {
    auto answer = f.reader->run(query, nullptr);
    std::string seen;
    for (const auto& c : answer.columns) seen += c + "\n";
    seen += answer.rows.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (seen.find(kMarker) != std::string::npos) broken("an answer holds what no view shows", query);
  } catch (const store::SqlRefused& e) {
    if (e.status() != 400 && e.status() != 413) broken("a refusal with another status", query + "\n" + e.what());
  }
  auto plain = f.reader->run("SELECT name FROM projects", nullptr);
  if (plain.rows != nlohmann::json::array({nlohmann::json::array({"Visible"})}))
    broken("the reader no longer answers a plain query", query + "\n" + plain.rows.dump());
  return 0;
}
