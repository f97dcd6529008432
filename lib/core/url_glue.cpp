// The translation unit that compiles Boost.URL, which Debian 12 ships as
// headers only (BOOST_URL_NO_LIB): the library focus_url. Apart from
// boost_glue.cpp so that code which parses URLs but does no networking (the
// configuration, request targets, the fuzz targets) builds without Asio and
// Beast.
#include <boost/url/src.hpp>
