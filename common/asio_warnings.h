// GCC 12 reports false positives inside Asio, at inlined header locations: a null shared_ptr
// "dereference" when a strand is type-erased into any_io_executor (strand equality), and mismatched
// new/delete for awaitable frames' recycling operator new/delete. A .cc file that instantiates Asio
// coroutines includes this header before any Asio header; the warnings stay on for everything else.
//
// Deliberately no include guard against re-entry effects: the pragmas apply from the point of inclusion to
// the end of the including translation unit, which is what the including file asks for.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
