#include "upstream/list_params.hpp"

#include <doctest/doctest.h>

using namespace focus;
using namespace focus::upstream;

TEST_CASE("list parameters are spelled as the reference spells them") {
  ListParams p;
  CHECK(to_query(p).empty());
  p.archived = ArchivedFilter::all;
  p.paging = {2, 200, {"-updated_at", "name"}};
  p.name = "café & co";
  p.client_ids = {1, 2};
  p.pinned = true;
  p.include_rates = true;
  p.start_date = parse_date("2026-01-01");
  CHECK(to_query(p) ==
        "?page=2&per_page=200&order_by=-updated_at&order_by=name&archived=&pinned=true&name=caf%C3%A9%20%26%20co"
        "&client_id=1&client_id=2&include_rates=true&start_date=2026-01-01");
  ListParams archived;
  archived.archived = ArchivedFilter::archived_only;
  CHECK(to_query(archived) == "?archived=true");

  ListParams plus;
  plus.name = "C++ a=b";  // a raw '+' would be read back as a space
  CHECK(to_query(plus) == "?name=C%2B%2B%20a%3Db");
}
