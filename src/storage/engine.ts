// The database engines Weft runs on.
export type Engine = "sqlite" | "postgres";
