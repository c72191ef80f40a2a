//! boxoffice-shop: the HTTP ticket shop, written only against the boxoffice client.
//!
//! Pages rendered on the server (no front-end build, usable on a phone and
//! without JavaScript), a JSON API in pretix's shape with idempotency keys,
//! and a virtual waiting room per event whose queue lives in the engine.
//! The shop keeps no inventory state: a shop process can be killed at any
//! moment and another takes over, because everything it must remember is
//! either in the engine (holds, orders, check-ins, the waiting room) or in a
//! cookie or token it signed (which cart is yours, that you were admitted,
//! that a form came from this shop).
//!
//! | module | what |
//! |---|---|
//! | [`server`] | the route table, layers, `run(listener, state, shutdown)` |
//! | [`pages`] | buyer pages: events, items, cart, checkout, order, queue |
//! | [`admin`] | admin pages and the door's check-in page |
//! | [`api`] | the JSON API and its OpenAPI document |
//! | [`waiting_room`] | per-event load measurement and the room's decisions |
//! | [`backend`] | reads and writes of the inventory through the client |
//! | [`app`] | shared state, sessions, CSRF, forms, cookies to set |
//! | [`tokens`], [`cookies`], [`secrets`] | MACs, cookie flags, shared secrets |
//! | [`errors`] | every failure, its status, code and sentence |
//! | [`config`] | every limit, named |
//! | [`views`] | templates and formatting |
//! | [`metrics`] | Prometheus |
//! | [`demo`], [`cli`] | first-start data, the command line |

pub mod admin;
pub mod api;
pub mod app;
pub mod backend;
pub mod cli;
pub mod config;
pub mod cookies;
pub mod demo;
pub mod errors;
pub mod inventory;
pub mod metrics;
pub mod pages;
pub mod secrets;
pub mod server;
pub mod tokens;
pub mod views;
pub mod waiting_room;
