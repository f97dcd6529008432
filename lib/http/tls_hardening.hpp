#pragma once
// Internal to lib/http: the protocol floor both ends of focussync's TLS use
// (TLS 1.2 or newer; SSLv2/3, TLS 1.0/1.1 refused). Included only by .cpp files.

#include <boost/asio/ssl/context.hpp>

namespace focus::http::detail {

inline void refuse_old_protocols(boost::asio::ssl::context& context) {
  using ctx = boost::asio::ssl::context;
  context.set_options(ctx::default_workarounds | ctx::no_sslv2 | ctx::no_sslv3 | ctx::no_tlsv1 | ctx::no_tlsv1_1);
}

}  // namespace focus::http::detail
