#pragma once
// What a hostile upstream does to an answer that was otherwise right: error
// texts and string fields that are not UTF-8 (cut in the middle of a
// character, Latin-1, surrogates, overlong forms), fields of the wrong JSON
// type, numbers near or past INT64_MAX, a value nested tens of thousands of
// levels deep, and garbage in the 2xx answer of a write. nlohmann::json
// refuses to write most of these (invalid UTF-8, numbers past uint64, raw
// nesting without building it), so they are spliced into the dumped text at
// markers. Each fault's variant is drawn from the FaultDice, so a seed
// replays the same answers. Free functions over one Response, called by the
// Simulator once it has decided which fault strikes; its thread.

#include "http/message.hpp"
#include "sim/faults.hpp"

#include <cstddef>

namespace focus::sim::hostile {

// A write's refusal: 400 with a text that is not UTF-8, in one of four
// shapes: JSON-looking with the text cut mid-character, JSON-looking in
// Latin-1, JSON cut short mid-character, or plain text.
http::Response refusal(FaultDice& dice);

// An error answer (status >= 400) whose text becomes bytes that are not
// UTF-8, in the same shapes; the original message is kept in front.
void break_error_text(http::Response& response, FaultDice& dice);

// The next four strike a 2xx whose body holds projects (a project, or a
// listing's {"data": [...], "total", ...}); any other answer is left alone.
// Every project's name, description or color gets bytes that are not UTF-8.
void break_strings(http::Response& response, FaultDice& dice);
// One field of the listing or of one project gets the wrong JSON type.
void wrong_types(http::Response& response, FaultDice& dice);
// One number of the listing (total, page, per_page) and one of one project
// (id, parent_project_id, client_id, workspace_id, estimated_mins) become
// 9223372036854775807, ...808, 18446744073709551615, 1e308, -1, INT64_MIN or
// 99999999999999999999999.
void huge_numbers(http::Response& response, FaultDice& dice);
// A description, an unknown project field or an unknown listing field holds
// arrays or objects nested `depth` levels deep.
void deep_nesting(http::Response& response, FaultDice& dice, std::size_t depth);

// A 2xx answer of a write becomes malformed JSON, its status kept (a 204
// becomes 200, since a 204 carries no body).
void garbage_write(http::Response& response);

}  // namespace focus::sim::hostile
