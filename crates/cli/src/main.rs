mod catalog_cmd;
mod render;

fn main() {}
