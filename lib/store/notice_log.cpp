#include "store/notice_log.hpp"

#include "store/sql_util.hpp"

namespace focus::store {

std::vector<EditNotice> NoticeLog::untold_edits() {
  auto& st = db_.cached(
      "SELECT id, organization_id, workspace_id, project_id, op, state, "
      "coalesce(json_extract(base, '$.name'), json_extract(body, '$.name'), ''), coalesce(last_error, '') "
      "FROM edits WHERE state IN ('conflict', 'failed') AND noticed_attempts IS NOT attempts ORDER BY id");
  std::vector<EditNotice> out;
  while (st.executeStep()) {
    out.push_back({st.getColumn(0).getInt64(),
                   {st.getColumn(1).getInt64(), st.getColumn(2).getInt64()},
                   st.getColumn(3).getInt64(),
                   st.getColumn(4).getString(),
                   st.getColumn(5).getString(),
                   st.getColumn(6).getString(),
                   st.getColumn(7).getString()});
  }
  return out;
}

void NoticeLog::mark_told(const std::vector<std::int64_t>& edits) {
  db_.in_relaxed_transaction([&] {
    auto& st = db_.cached("UPDATE edits SET noticed_attempts = attempts WHERE id = ?");
    for (auto id : edits) {
      st.reset();
      st.bind(1, id);
      st.exec();
    }
  });
}

std::optional<Timestamp> NoticeLog::told_since(const std::string& what) {
  auto& st = db_.cached("SELECT since FROM notices WHERE what = ?");
  st.bind(1, what);
  if (!st.executeStep()) return std::nullopt;
  const Timestamp since{std::chrono::microseconds(st.getColumn(0).getInt64())};
  st.reset();  // not left on its row (a read transaction) before clear() writes
  return since;
}

void NoticeLog::mark_told(const std::string& what, Timestamp at) {
  db_.in_relaxed_transaction([&] {
    auto& st = db_.cached("INSERT OR REPLACE INTO notices (what, since) VALUES (?, ?)");
    st.bind(1, what);
    st.bind(2, detail::micros(at));
    st.exec();
  });
}

void NoticeLog::clear(const std::string& what) {
  if (!told_since(what)) return;  // no write (and no commit) when there is nothing to clear
  db_.in_relaxed_transaction([&] {
    auto& st = db_.cached("DELETE FROM notices WHERE what = ?");
    st.bind(1, what);
    st.exec();
  });
}

}  // namespace focus::store
