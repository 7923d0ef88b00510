//! The results table: each row a median next to its baseline, the ratio,
//! and the target where it gives one.

pub struct Row {
    case: String,
    value: String,
    baseline: String,
    ratio: String,
    target: String,
}

/// A target and whether this run met it.
pub struct Target {
    what: String,
    ratio: f64,
    met: bool,
}

impl Target {
    /// Met when `ratio` is at most `limit`.
    pub fn at_most(ratio: f64, limit: f64, what: &str) -> Self {
        Self {
            what: what.into(),
            ratio,
            met: ratio <= limit,
        }
    }

    /// Met when `ratio` is at least `limit`.
    pub fn at_least(ratio: f64, limit: f64, what: &str) -> Self {
        Self {
            what: what.into(),
            ratio,
            met: ratio >= limit,
        }
    }

    fn show(&self) -> String {
        // The exact ratio: a rounded 0.97 may still be under 0.97.
        format!(
            "{}: {} ({:.3})",
            self.what,
            if self.met { "**met**" } else { "**not met**" },
            self.ratio
        )
    }
}

/// A measured value with its unit, printed with sensible precision.
#[derive(Clone, Copy)]
pub struct Value {
    pub v: f64,
    pub unit: &'static str,
}

impl Value {
    pub fn us(v: f64) -> Self {
        Self { v, unit: "us" }
    }
    pub fn ms(v: f64) -> Self {
        Self { v, unit: "ms" }
    }
    pub fn ns(v: f64) -> Self {
        Self { v, unit: "ns" }
    }
    pub fn rps(v: f64) -> Self {
        Self { v, unit: "req/s" }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.v;
        match v.abs() {
            a if a >= 100.0 => write!(f, "{v:.0} {}", self.unit),
            a if a >= 10.0 => write!(f, "{v:.1} {}", self.unit),
            _ => write!(f, "{v:.2} {}", self.unit),
        }
    }
}

#[derive(Default)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    /// A baseline row: the value other rows are divided by.
    pub fn baseline(&mut self, case: &str, value: Value) {
        self.rows.push(Row {
            case: case.into(),
            value: value.to_string(),
            baseline: "(baseline)".into(),
            ratio: "1.00".into(),
            target: String::new(),
        });
    }

    /// A row measured against `baseline` (named `of`).
    pub fn compare(
        &mut self,
        case: &str,
        value: Value,
        baseline: Value,
        of: &str,
        target: Option<Target>,
    ) {
        self.rows.push(Row {
            case: case.into(),
            value: value.to_string(),
            baseline: format!("{baseline} ({of})"),
            ratio: ratio(value.v / baseline.v),
            target: target.map(|t| t.show()).unwrap_or_default(),
        });
    }

    /// A row with no measurement: the reason instead.
    pub fn missing(&mut self, case: &str, reason: &str) {
        self.rows.push(Row {
            case: case.into(),
            value: reason.into(),
            baseline: String::new(),
            ratio: String::new(),
            target: String::new(),
        });
    }

    pub fn print(&self) {
        println!("| case | value (median) | baseline | ratio | target |");
        println!("|---|---|---|---|---|");
        for r in &self.rows {
            println!(
                "| {} | {} | {} | {} | {} |",
                r.case, r.value, r.baseline, r.ratio, r.target
            );
        }
    }
}

fn ratio(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.1}")
    } else {
        format!("{r:.2}")
    }
}
