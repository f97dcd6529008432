// The single translation unit that compiles the Boost libraries focussync uses
// in "separate compilation" mode. Every other file includes only their headers
// (BOOST_ASIO_SEPARATE_COMPILATION / BOOST_BEAST_SEPARATE_COMPILATION are set
// on focus_core and propagate), so Asio and Beast are compiled once per build,
// not once per file. It is the library focus_asio (lib/core/CMakeLists.txt),
// which only what does I/O links. Boost.URL, which Debian 12 ships as headers
// only, is compiled in url_glue.cpp (focus_url).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
