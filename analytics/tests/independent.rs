//! Independent check (below).
