//! The data-flow diagram of a model: SVG laid out here, without Graphviz or any other tool, and the
//! same graph as Graphviz DOT for those who want it.
//!
//! The layout is layered and nested. Each trust boundary is a box whose children — its elements
//! and the boundaries inside it — are layered by the flows between them (a boundary counts as one
//! child for the flows into and out of it; cycles are broken keeping the direction most flows
//! take; a child's layer is the longest path to it), ordered within their layer to cross few
//! flows, and set in columns left to right — or in rows top to bottom when that keeps the box
//! nearer a landscape shape. A column too tall is split and columns are wrapped into bands when
//! that helps the shape too, so a big model stays readable. Sizes are computed from the innermost
//! boundary out, positions from the outermost in, all in whole pixels, so boxes are disjoint by
//! construction: no two elements overlap, each element is inside the boxes of its boundaries and
//! outside every other, and sibling boundaries are apart. Flows are cubic curves between the
//! borders of their elements, leaving by another side (an elbow, or a loop) when that crosses fewer
//! elements, their ends spread along each side; their labels are placed along them where they
//! cover the least.
//!
//! Everything written comes from the model and the analysis, nothing from the clock or the host:
//! the same model gives the same bytes. Every name is escaped for XML (or DOT) and long names are
//! shortened with an ellipsis, the full text in a tooltip.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::engine::Analysis;
use crate::model::{ElementKind, Flow, Level, Model};

/// Width and height of an element's shape.
const EW: i64 = 170;
const EH: i64 = 62;
/// Space between columns (room for flow labels) and between elements of a column.
const GAP_X: i64 = 96;
const GAP_Y: i64 = 38;
/// Between rows when a box is laid out top to bottom, and between the elements of a row.
const ROW_GAP: i64 = 64;
const GAP_IN_ROW: i64 = 44;
/// Space between bands of columns.
const BAND_GAP: i64 = 56;
/// A boundary's padding, and the height of its header (its name).
const PAD: i64 = 18;
const HEAD: i64 = 30;
const MIN_BOUNDARY_W: i64 = 150;
/// Widest a boundary grows for its name to show whole.
const MAX_LABEL_W: i64 = 320;
/// Around the drawing, and the height of the title and legend above it.
const MARGIN: i64 = 24;
const HEADER_H: i64 = 96;
/// The header's height with the second row of the legend (the severities).
const HEADER_H_ANALYSED: i64 = 120;
/// The width-to-height ratio a box's content aims for.
const ASPECT: f64 = 1.8;

const NAME_SIZE: f64 = 12.5;
const KIND_SIZE: f64 = 10.0;
const BOUNDARY_SIZE: f64 = 12.0;
const LABEL_SIZE: f64 = 10.5;
/// Widest a flow label is drawn.
const MAX_FLOW_LABEL_W: f64 = 150.0;

/// Open threats on one element or flow.
#[derive(Debug, Clone, Copy, Default)]
struct Open {
    count: usize,
    worst: Option<Level>,
}

impl Open {
    fn class(self) -> &'static str {
        match self.worst {
            None => "sev-none",
            Some(Level::Low) => "sev-low",
            Some(Level::Medium) => "sev-medium",
            Some(Level::High) => "sev-high",
            Some(Level::Critical) => "sev-critical",
        }
    }
}

/// Fill and line colours of each severity (none first), shared by the SVG's style and the DOT.
const COLOURS: [(&str, &str, &str); 5] = [
    ("sev-none", "#ffffff", "#475569"),
    ("sev-low", "#dbeafe", "#2563eb"),
    ("sev-medium", "#fef3c7", "#b7791f"),
    ("sev-high", "#fed7aa", "#ea580c"),
    ("sev-critical", "#fecaca", "#b91c1c"),
];

fn colours(open: Open) -> (&'static str, &'static str) {
    let i = open.worst.map_or(0, |l| l.rank() as usize);
    (COLOURS[i].1, COLOURS[i].2)
}

/// The model as a graph with indices, its boundary tree repaired where a hand-built model is
/// inconsistent (an unknown parent or a loop of parents makes a boundary top-level; an unknown
/// boundary leaves its element at the top), with the open threats of each element and flow.
struct Graph<'a> {
    model: &'a Model,
    els: Vec<(&'a str, &'a crate::model::Element)>,
    bds: Vec<&'a str>,
    /// Each boundary's parent.
    bd_parent: Vec<Option<usize>>,
    /// Each element's boundary.
    el_parent: Vec<Option<usize>>,
    bd_depth: Vec<usize>,
    /// Flows whose two ends are distinct elements of the model: id, flow, from, to.
    flows: Vec<(&'a str, &'a Flow, usize, usize)>,
    /// Open threats per element, and per flow (by index in `flows`).
    el_open: Vec<Open>,
    flow_open: Vec<Open>,
    open_total: usize,
}

impl<'a> Graph<'a> {
    fn new(model: &'a Model, analysis: Option<&Analysis>) -> Graph<'a> {
        let els: Vec<_> = model
            .elements
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        let bds: Vec<&str> = model.boundaries.keys().map(String::as_str).collect();
        let bd_index = |id: &str| bds.binary_search(&id).ok();
        let el_index = |id: &str| els.binary_search_by(|(k, _)| (*k).cmp(id)).ok();
        let mut bd_parent: Vec<Option<usize>> = model
            .boundaries
            .values()
            .map(|b| b.parent.as_deref().and_then(bd_index))
            .collect();
        // Cut every loop of parents (linear: each boundary is walked once).
        let mut state = vec![0u8; bds.len()];
        for start in 0..bds.len() {
            let mut path = Vec::new();
            let mut cur = Some(start);
            while let Some(c) = cur {
                match state[c] {
                    0 => {
                        state[c] = 1;
                        path.push(c);
                        cur = bd_parent[c];
                    }
                    1 => {
                        // `c` is on the path: the path from `c` on is a loop.
                        if let Some(i) = path.iter().position(|&p| p == c) {
                            for &p in &path[i..] {
                                bd_parent[p] = None;
                            }
                        }
                        break;
                    }
                    _ => break,
                }
            }
            for p in path {
                state[p] = 2;
            }
        }
        let mut bd_depth = vec![usize::MAX; bds.len()];
        for start in 0..bds.len() {
            let mut path = Vec::new();
            let mut cur = Some(start);
            let mut base = 0;
            while let Some(c) = cur {
                if bd_depth[c] != usize::MAX {
                    base = bd_depth[c] + 1;
                    break;
                }
                path.push(c);
                cur = bd_parent[c];
            }
            for (i, &p) in path.iter().rev().enumerate() {
                bd_depth[p] = base + i;
            }
        }
        let el_parent = els
            .iter()
            .map(|(_, e)| e.boundary.as_deref().and_then(bd_index))
            .collect();
        let flows: Vec<_> = model
            .flows
            .iter()
            .filter_map(|(id, f)| {
                let a = el_index(&f.from)?;
                let b = el_index(&f.to)?;
                (a != b).then_some((id.as_str(), f, a, b))
            })
            .collect();
        let mut el_open = vec![Open::default(); els.len()];
        let mut flow_open = vec![Open::default(); flows.len()];
        let mut open_total = 0;
        for t in analysis
            .map(|a| a.threats.as_slice())
            .unwrap_or_default()
            .iter()
            .filter(|t| t.status.is_open())
        {
            open_total += 1;
            let slot = if t.target.kind == "flow" {
                flows
                    .binary_search_by(|(k, ..)| (*k).cmp(t.target.id.as_str()))
                    .ok()
                    .map(|i| &mut flow_open[i])
            } else {
                el_index(&t.target.id).map(|i| &mut el_open[i])
            };
            if let Some(o) = slot {
                o.count += 1;
                o.worst = o.worst.max(Some(t.severity));
            }
        }
        Graph {
            model,
            els,
            bds,
            bd_parent,
            el_parent,
            bd_depth,
            flows,
            el_open,
            flow_open,
            open_total,
        }
    }

    /// The boundaries around element `e`, outermost first.
    fn chain(&self, e: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut cur = self.el_parent[e];
        while let Some(b) = cur {
            out.push(b);
            cur = self.bd_parent[b];
        }
        out.reverse();
        out
    }

    fn element_name(&self, e: usize) -> &'a str {
        let (id, el) = self.els[e];
        el.name.as_deref().unwrap_or(id)
    }

    fn boundary_name(&self, b: usize) -> &'a str {
        self.model.boundary_name(self.bds[b])
    }
}

/// Layers of the items of a graph, left to right, from its weighted edges: cycles are broken by
/// the greedy order of Eades, Lin and Smyth (sinks last, sources first, otherwise the item with the
/// most weight going out rather than in), which keeps the direction most flows take; each item's
/// layer is then the longest path to it along the edges that go forward in that order.
fn layering(n: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut w: BTreeMap<(usize, usize), i64> = BTreeMap::new();
    for &(a, b) in edges {
        if a != b {
            *w.entry((a, b)).or_insert(0) += 1;
        }
    }
    let mut outs: Vec<Vec<(usize, i64)>> = vec![Vec::new(); n];
    let mut ins: Vec<Vec<(usize, i64)>> = vec![Vec::new(); n];
    for (&(a, b), &k) in &w {
        outs[a].push((b, k));
        ins[b].push((a, k));
    }
    let mut out_w: Vec<i64> = outs.iter().map(|o| o.iter().map(|e| e.1).sum()).collect();
    let mut in_w: Vec<i64> = ins.iter().map(|o| o.iter().map(|e| e.1).sum()).collect();
    let mut gone = vec![false; n];
    let mut front = Vec::with_capacity(n);
    let mut back = Vec::new();
    let mut sinks: Vec<usize> = (0..n).rev().filter(|&v| out_w[v] == 0).collect();
    let mut sources: Vec<usize> = (0..n).rev().filter(|&v| in_w[v] == 0).collect();
    let mut left = n;
    // Take `v` out; the items it leaves without flows out or in become sinks or sources.
    let mut remove =
        |v: usize, gone: &mut [bool], sinks: &mut Vec<usize>, sources: &mut Vec<usize>| {
            gone[v] = true;
            left -= 1;
            for &(b, k) in &outs[v] {
                in_w[b] -= k;
                if in_w[b] == 0 && !gone[b] {
                    sources.push(b);
                }
            }
            for &(a, k) in &ins[v] {
                out_w[a] -= k;
                if out_w[a] == 0 && !gone[a] {
                    sinks.push(a);
                }
            }
            left
        };
    loop {
        if let Some(v) = sinks.pop() {
            if !gone[v] {
                back.push(v);
                remove(v, &mut gone, &mut sinks, &mut sources);
            }
        } else if let Some(v) = sources.pop() {
            if !gone[v] {
                front.push(v);
                remove(v, &mut gone, &mut sinks, &mut sources);
            }
        } else if let Some(v) = (0..n).filter(|&v| !gone[v]).max_by_key(|&v| {
            (
                live_weight(&outs[v], &gone) - live_weight(&ins[v], &gone),
                std::cmp::Reverse(v),
            )
        }) {
            // Only cycles are left: the item with the most weight going out rather than in.
            front.push(v);
            if remove(v, &mut gone, &mut sinks, &mut sources) == 0 {
                break;
            }
        } else {
            break;
        }
    }
    front.extend(back.into_iter().rev());
    let mut pos = vec![0; n];
    for (i, &v) in front.iter().enumerate() {
        pos[v] = i;
    }
    let mut layer = vec![0usize; n];
    for &v in &front {
        for &(b, _) in &outs[v] {
            if pos[b] > pos[v] {
                layer[b] = layer[b].max(layer[v] + 1);
            }
        }
    }
    layer
}

/// The weight of the edges to items not yet taken out.
fn live_weight(edges: &[(usize, i64)], gone: &[bool]) -> i64 {
    edges.iter().filter(|e| !gone[e.0]).map(|e| e.1).sum()
}

/// A box in whole pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rect {
    x: i64,
    y: i64,
    w: i64,
    h: i64,
}

impl Rect {
    fn contains(&self, px: f64, py: f64) -> bool {
        px > self.x as f64
            && px < (self.x + self.w) as f64
            && py > self.y as f64
            && py < (self.y + self.h) as f64
    }

    fn cx(&self) -> f64 {
        self.x as f64 + self.w as f64 / 2.0
    }

    fn cy(&self) -> f64 {
        self.y as f64 + self.h as f64 / 2.0
    }
}

/// A child of a container (the whole drawing, or a boundary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Item {
    El(usize),
    Bd(usize),
}

/// How a container's children are arranged: the size of its content and each child's place.
#[derive(Debug, Default, Clone)]
struct Arranged {
    w: i64,
    h: i64,
    at: Vec<(i64, i64)>,
}

/// Where every element and boundary is; the drawing's top left corner at the origin.
struct Layout {
    el: Vec<Rect>,
    bd: Vec<Rect>,
}

fn layout(g: &Graph<'_>) -> Layout {
    // Container 0 is the drawing; boundary b is container b + 1.
    let nc = g.bds.len() + 1;
    let mut children: Vec<Vec<Item>> = vec![Vec::new(); nc];
    for (b, p) in g.bd_parent.iter().enumerate() {
        children[p.map_or(0, |p| p + 1)].push(Item::Bd(b));
    }
    for (e, p) in g.el_parent.iter().enumerate() {
        children[p.map_or(0, |p| p + 1)].push(Item::El(e));
    }
    // Boundaries from the innermost out, for the sizes.
    let mut inner_first: Vec<usize> = (0..g.bds.len()).collect();
    inner_first.sort_by_key(|&b| (std::cmp::Reverse(g.bd_depth[b]), b));
    // Within a container: external entities, processes, data stores, then boundaries.
    let kind_order = |it: Item| match it {
        Item::El(e) => match g.els[e].1.kind {
            ElementKind::ExternalEntity => 0,
            ElementKind::Process => 1,
            ElementKind::DataStore => 2,
        },
        Item::Bd(_) => 3,
    };
    for c in &mut children {
        c.sort_by_key(|&it| (kind_order(it), it));
    }
    // Where each item sits in its container's list.
    let mut el_slot = vec![0usize; g.els.len()];
    let mut bd_slot = vec![0usize; g.bds.len()];
    for c in &children {
        for (i, it) in c.iter().enumerate() {
            match *it {
                Item::El(e) => el_slot[e] = i,
                Item::Bd(b) => bd_slot[b] = i,
            }
        }
    }
    // The flows within each container, between two of its children, to order its columns.
    let mut links: Vec<Vec<(usize, usize)>> = vec![Vec::new(); nc];
    let chains: Vec<Vec<usize>> = (0..g.els.len()).map(|e| g.chain(e)).collect();
    for &(_, _, a, b) in &g.flows {
        let (ca, cb) = (&chains[a], &chains[b]);
        let common = ca.iter().zip(cb).take_while(|(x, y)| x == y).count();
        let container = if common == 0 { 0 } else { ca[common - 1] + 1 };
        let slot = |chain: &[usize], e: usize| match chain.get(common) {
            Some(&bd) => bd_slot[bd],
            None => el_slot[e],
        };
        let (sa, sb) = (slot(ca, a), slot(cb, b));
        if sa != sb {
            links[container].push((sa, sb));
        }
    }
    let mut size_bd = vec![(0i64, 0i64); g.bds.len()];
    let mut arranged: Vec<Arranged> = vec![Arranged::default(); nc];
    let size_of = |it: Item, size_bd: &[(i64, i64)]| match it {
        Item::El(_) => (EW, EH),
        Item::Bd(b) => size_bd[b],
    };
    for &b in &inner_first {
        let items = &children[b + 1];
        let sizes: Vec<_> = items.iter().map(|&it| size_of(it, &size_bd)).collect();
        let a = arrange(&sizes, &links[b + 1]);
        let label = text_width(&clean(g.boundary_name(b)), BOUNDARY_SIZE, true).ceil() as i64 + 24;
        let w = (a.w + 2 * PAD)
            .max(MIN_BOUNDARY_W)
            .max(label.min(MAX_LABEL_W));
        let h = if items.is_empty() {
            HEAD + 16
        } else {
            a.h + HEAD + PAD
        };
        size_bd[b] = (w, h);
        arranged[b + 1] = a;
    }
    {
        let items = &children[0];
        let sizes: Vec<_> = items.iter().map(|&it| size_of(it, &size_bd)).collect();
        arranged[0] = arrange(&sizes, &links[0]);
    }
    // Positions, from the outermost in.
    let mut el = vec![
        Rect {
            x: 0,
            y: 0,
            w: EW,
            h: EH
        };
        g.els.len()
    ];
    let mut bd = vec![
        Rect {
            x: 0,
            y: 0,
            w: 0,
            h: 0
        };
        g.bds.len()
    ];
    let mut place = |c: usize, ox: i64, oy: i64, bd: &mut Vec<Rect>| {
        for (it, &(x, y)) in children[c].iter().zip(&arranged[c].at) {
            match *it {
                Item::El(e) => {
                    el[e] = Rect {
                        x: ox + x,
                        y: oy + y,
                        w: EW,
                        h: EH,
                    }
                }
                Item::Bd(b) => {
                    bd[b] = Rect {
                        x: ox + x,
                        y: oy + y,
                        w: size_bd[b].0,
                        h: size_bd[b].1,
                    }
                }
            }
        }
    };
    place(0, 0, 0, &mut bd);
    for &b in inner_first.iter().rev() {
        let r = bd[b];
        let ox = r.x + (r.w - arranged[b + 1].w) / 2;
        place(b + 1, ox, r.y + HEAD, &mut bd);
    }
    Layout { el, bd }
}

/// Arrange the children of one container, left to right in columns by layer or top to bottom in
/// rows by layer, whichever brings the content nearer the aspect wanted (left to right is
/// preferred a little: it is how a data-flow diagram is read). Positions are relative to the
/// content's top left corner.
fn arrange(sizes: &[(i64, i64)], links: &[(usize, usize)]) -> Arranged {
    if sizes.is_empty() {
        return Arranged::default();
    }
    let layers = layers(sizes.len(), links);
    let (across, across_score) = arrange_dir(sizes, &layers, GAP_X, GAP_Y, BAND_GAP, ASPECT);
    // Top to bottom is left to right with the axes swapped.
    let swapped: Vec<(i64, i64)> = sizes.iter().map(|&(w, h)| (h, w)).collect();
    let (down, down_score) =
        arrange_dir(&swapped, &layers, ROW_GAP, GAP_IN_ROW, GAP_X, 1.0 / ASPECT);
    if down_score + 0.15 < across_score {
        Arranged {
            w: down.h,
            h: down.w,
            at: down.at.into_iter().map(|(x, y)| (y, x)).collect(),
        }
    } else {
        across
    }
}

/// The layers of a container's children, each ordered to cross few flows.
fn layers(n: usize, links: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let ranks = layering(n, links);
    let mut by_rank: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &r) in ranks.iter().enumerate() {
        by_rank.entry(r).or_default().push(i);
    }
    let mut layers: Vec<Vec<usize>> = by_rank.into_values().collect();
    order_layers(&mut layers, n, links);
    layers
}

/// Lay layers out left to right as columns: a column too tall is split, and columns are wrapped
/// into bands (one below the other) when that brings the whole nearer `aspect`. Gives the
/// arrangement and how far it is from the aspect (0 is exact; each band more adds to it).
fn arrange_dir(
    sizes: &[(i64, i64)],
    layers: &[Vec<usize>],
    gap_x: i64,
    gap_y: i64,
    band_gap: i64,
    aspect: f64,
) -> (Arranged, f64) {
    let n = sizes.len();
    let area: f64 = sizes
        .iter()
        .map(|&(w, h)| ((w + gap_x) * (h + gap_y)) as f64)
        .sum();
    let max_h = sizes.iter().map(|s| s.1).max().unwrap_or(0);
    let col_limit = ((area / aspect).sqrt() * 1.15).round() as i64;
    let col_limit = col_limit.max(max_h);
    // Columns: (items, width, height).
    let mut columns: Vec<(Vec<usize>, i64, i64)> = Vec::new();
    for layer in layers {
        let total: i64 =
            layer.iter().map(|&i| sizes[i].1).sum::<i64>() + gap_y * (layer.len() as i64 - 1);
        let k = ((total + col_limit - 1) / col_limit).clamp(1, layer.len() as i64);
        let target = total / k;
        let mut made = 1;
        let mut col: (Vec<usize>, i64, i64) = (Vec::new(), 0, 0);
        for &i in layer {
            let (w, h) = sizes[i];
            if !col.0.is_empty() && col.2 + gap_y + h > target && made < k {
                columns.push(std::mem::take(&mut col));
                made += 1;
            }
            if !col.0.is_empty() {
                col.2 += gap_y;
            }
            col.0.push(i);
            col.1 = col.1.max(w);
            col.2 += h;
        }
        columns.push(col);
    }
    // Bands: the number of columns per band that brings the content nearest the aspect wanted,
    // a band more costing something (a flow that wraps is harder to follow).
    let bands_of = |per: usize| -> Vec<(Vec<usize>, i64, i64)> {
        (0..columns.len())
            .collect::<Vec<_>>()
            .chunks(per)
            .map(|cols| {
                let w = cols.iter().map(|&c| columns[c].1).sum::<i64>()
                    + gap_x * (cols.len() as i64 - 1);
                let h = cols.iter().map(|&c| columns[c].2).max().unwrap_or(0);
                (cols.to_vec(), w, h)
            })
            .collect()
    };
    let score_of = |bands: &[(Vec<usize>, i64, i64)]| {
        let w = bands.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
        let h = (bands.iter().map(|b| b.2).sum::<i64>() + band_gap * (bands.len() as i64 - 1))
            .max(1) as f64;
        ((w / h) / aspect).ln().abs() + 0.8 * (bands.len() - 1) as f64
    };
    let mut best = (f64::MAX, columns.len());
    for per in (1..=columns.len()).rev() {
        let score = score_of(&bands_of(per));
        if score < best.0 - 1e-9 {
            best = (score, per);
        }
    }
    let bands = bands_of(best.1);
    let mut at = vec![(0, 0); n];
    let mut y = 0;
    let mut width = 0;
    for (cols, bw, bh) in &bands {
        let mut x = 0;
        for &c in cols {
            let (items, cw, ch) = &columns[c];
            let mut iy = y + (bh - ch) / 2;
            for &i in items {
                let (w, h) = sizes[i];
                at[i] = (x + (cw - w) / 2, iy);
                iy += h + gap_y;
            }
            x += cw + gap_x;
        }
        width = width.max(*bw);
        y += bh + band_gap;
    }
    (
        Arranged {
            w: width,
            h: y - band_gap,
            at,
        },
        best.0,
    )
}

/// Order the items of each layer by the mean place of their neighbours in the other layers (the
/// barycentre heuristic, a few sweeps each way), so flows cross less.
fn order_layers(layers: &mut [Vec<usize>], n: usize, links: &[(usize, usize)]) {
    if links.is_empty() || layers.len() < 2 {
        return;
    }
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in links {
        adj[a].push(b);
        adj[b].push(a);
    }
    let mut layer_of = vec![0; n];
    let mut pos = vec![0.0f64; n];
    let set_pos = |layer: &[usize], pos: &mut [f64]| {
        for (k, &i) in layer.iter().enumerate() {
            pos[i] = (k as f64 + 0.5) / layer.len() as f64;
        }
    };
    for (l, layer) in layers.iter().enumerate() {
        for &i in layer {
            layer_of[i] = l;
        }
        set_pos(layer, &mut pos);
    }
    for sweep in 0..6 {
        let order: Vec<usize> = if sweep % 2 == 0 {
            (1..layers.len()).collect()
        } else {
            (0..layers.len() - 1).rev().collect()
        };
        for l in order {
            let keys: BTreeMap<usize, f64> = layers[l]
                .iter()
                .map(|&i| {
                    let others: Vec<f64> = adj[i]
                        .iter()
                        .filter(|&&j| layer_of[j] != l)
                        .map(|&j| pos[j])
                        .collect();
                    let key = if others.is_empty() {
                        pos[i]
                    } else {
                        others.iter().sum::<f64>() / others.len() as f64
                    };
                    (i, key)
                })
                .collect();
            layers[l].sort_by(|a, b| {
                keys[a]
                    .total_cmp(&keys[b])
                    .then(pos[*a].total_cmp(&pos[*b]))
            });
            set_pos(&layers[l], &mut pos);
        }
    }
}

/// A side of a box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Left,
    Right,
    Top,
    Bottom,
}

impl Side {
    /// The outward normal.
    fn normal(self) -> (f64, f64) {
        match self {
            Side::Left => (-1.0, 0.0),
            Side::Right => (1.0, 0.0),
            Side::Top => (0.0, -1.0),
            Side::Bottom => (0.0, 1.0),
        }
    }

    fn vertical(self) -> bool {
        matches!(self, Side::Left | Side::Right)
    }
}

/// The element boxes in a coarse grid, to find quickly what a point falls in.
struct Grid {
    cell: i64,
    cells: BTreeMap<(i64, i64), Vec<usize>>,
}

impl Grid {
    fn new(boxes: &[Rect]) -> Grid {
        let cell = 200;
        let mut cells: BTreeMap<(i64, i64), Vec<usize>> = BTreeMap::new();
        for (i, r) in boxes.iter().enumerate() {
            for cx in r.x.div_euclid(cell)..=(r.x + r.w).div_euclid(cell) {
                for cy in r.y.div_euclid(cell)..=(r.y + r.h).div_euclid(cell) {
                    cells.entry((cx, cy)).or_default().push(i);
                }
            }
        }
        Grid { cell, cells }
    }

    /// The boxes that may hold the point.
    fn near(&self, x: f64, y: f64) -> &[usize] {
        let key = (
            (x.floor() as i64).div_euclid(self.cell),
            (y.floor() as i64).div_euclid(self.cell),
        );
        self.cells.get(&key).map_or(&[], Vec::as_slice)
    }
}

/// A cubic curve.
#[derive(Debug, Clone, Copy)]
struct Curve([(f64, f64); 4]);

impl Curve {
    fn at(&self, t: f64) -> (f64, f64) {
        let u = 1.0 - t;
        let [p0, p1, p2, p3] = self.0;
        let (a, b, c, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
        (
            a * p0.0 + b * p1.0 + c * p2.0 + d * p3.0,
            a * p0.1 + b * p1.1 + c * p2.1 + d * p3.1,
        )
    }
}

/// The curve between two points leaving and entering along the normals of their sides.
fn curve(p0: (f64, f64), s0: Side, p3: (f64, f64), s3: Side) -> Curve {
    let dist = ((p3.0 - p0.0).powi(2) + (p3.1 - p0.1).powi(2)).sqrt();
    let k = if s0 == s3 {
        // Out and back in on the same side: a loop around what lies between.
        (40.0 + dist * 0.25).min(140.0)
    } else {
        (dist * 0.4).clamp(24.0, 160.0)
    };
    let (n0, n3) = (s0.normal(), s3.normal());
    Curve([
        p0,
        (p0.0 + n0.0 * k, p0.1 + n0.1 * k),
        (p3.0 + n3.0 * k, p3.1 + n3.1 * k),
        p3,
    ])
}

/// The middle of a side of an element's shape.
fn side_mid(r: &Rect, s: Side) -> (f64, f64) {
    match s {
        Side::Left => (r.x as f64, r.cy()),
        Side::Right => ((r.x + r.w) as f64, r.cy()),
        Side::Top => (r.cx(), r.y as f64),
        Side::Bottom => (r.cx(), (r.y + r.h) as f64),
    }
}

/// The point at fraction `f` (0 to 1) along side `s` of an element's shape; on a process (a
/// stadium), on its border.
fn side_point(r: &Rect, kind: ElementKind, s: Side, f: f64) -> (f64, f64) {
    let (x0, y0, w, h) = (r.x as f64, r.y as f64, r.w as f64, r.h as f64);
    if kind == ElementKind::Process {
        let rad = h / 2.0;
        match s {
            Side::Left | Side::Right => {
                // Keep to the middle of the round end.
                let y = y0 + h * (0.2 + 0.6 * f);
                let dy = y - (y0 + rad);
                let dx = rad - (rad * rad - dy * dy).max(0.0).sqrt();
                let x = if s == Side::Left {
                    x0 + dx
                } else {
                    x0 + w - dx
                };
                (x, y)
            }
            Side::Top | Side::Bottom => {
                let x = x0 + rad + (w - 2.0 * rad) * f;
                (x, if s == Side::Top { y0 } else { y0 + h })
            }
        }
    } else {
        match s {
            Side::Left => (x0, y0 + h * (0.15 + 0.7 * f)),
            Side::Right => (x0 + w, y0 + h * (0.15 + 0.7 * f)),
            Side::Top => (x0 + w * (0.1 + 0.8 * f), y0),
            Side::Bottom => (x0 + w * (0.1 + 0.8 * f), y0 + h),
        }
    }
}

/// How many samples of a curve fall in an element other than its ends.
fn obstruction(c: &Curve, grid: &Grid, boxes: &[Rect], a: usize, b: usize) -> usize {
    (1..24)
        .map(|i| c.at(i as f64 / 24.0))
        .filter(|&(x, y)| {
            grid.near(x, y)
                .iter()
                .any(|&k| k != a && k != b && boxes[k].contains(x, y))
        })
        .count()
}

/// The sides a flow leaves and enters by: the facing sides, unless another pair crosses fewer
/// elements.
fn route(ra: &Rect, rb: &Rect, grid: &Grid, boxes: &[Rect], a: usize, b: usize) -> (Side, Side) {
    let hgap = (rb.x - (ra.x + ra.w)).max(ra.x - (rb.x + rb.w));
    let vgap = (rb.y - (ra.y + ra.h)).max(ra.y - (rb.y + rb.h));
    let (ha, hb) = if rb.cx() >= ra.cx() {
        (Side::Right, Side::Left)
    } else {
        (Side::Left, Side::Right)
    };
    let (va, vb) = if rb.cy() >= ra.cy() {
        (Side::Bottom, Side::Top)
    } else {
        (Side::Top, Side::Bottom)
    };
    // In order of preference: the facing sides across the wider gap, then across the other, an
    // elbow each way when the two are diagonal, and a loop out and back in on one side when
    // they are one above the other (or side by side).
    let mut candidates: Vec<(Side, Side)> = Vec::with_capacity(6);
    let facing = [(hgap, (ha, hb)), (vgap, (va, vb))];
    let (first, second) = if hgap >= vgap {
        (facing[0], facing[1])
    } else {
        (facing[1], facing[0])
    };
    candidates.push(first.1);
    if second.0 > 0 {
        candidates.push(second.1);
    }
    if hgap > 0 && vgap > 0 {
        candidates.push((ha, vb));
        candidates.push((va, hb));
    }
    if hgap <= 0 {
        candidates.push((Side::Right, Side::Right));
        candidates.push((Side::Left, Side::Left));
    }
    if vgap <= 0 {
        candidates.push((Side::Bottom, Side::Bottom));
        candidates.push((Side::Top, Side::Top));
    }
    let mut best = (usize::MAX, first.1);
    for (i, &(sa, sb)) in candidates.iter().enumerate() {
        let c = curve(side_mid(ra, sa), sa, side_mid(rb, sb), sb);
        // Each element crossed costs more than any detour, so detours are taken only to help.
        let cost = obstruction(&c, grid, boxes, a, b) * 8 + i;
        if cost < best.0 {
            best = (cost, (sa, sb));
        }
        if cost == i {
            break;
        }
    }
    best.1
}

/// Flows with their curves.
struct Routed {
    curve: Curve,
}

fn route_flows(g: &Graph<'_>, l: &Layout) -> Vec<Routed> {
    let grid = Grid::new(&l.el);
    let sides: Vec<(Side, Side)> = g
        .flows
        .iter()
        .map(|&(_, _, a, b)| route(&l.el[a], &l.el[b], &grid, &l.el, a, b))
        .collect();
    // The ports on each side of each element, spread in the order of where their other ends are.
    // Per side of an element: where the other end is along that side, the flow, and whether the
    // flow starts here.
    type Ports = BTreeMap<(usize, Side), Vec<(i64, usize, bool)>>;
    let mut ports: Ports = BTreeMap::new();
    for (i, &(_, _, a, b)) in g.flows.iter().enumerate() {
        let (sa, sb) = sides[i];
        let along = |r: &Rect, s: Side| {
            if s.vertical() {
                (r.cy() * 2.0) as i64
            } else {
                (r.cx() * 2.0) as i64
            }
        };
        ports
            .entry((a, sa))
            .or_default()
            .push((along(&l.el[b], sa), i, true));
        ports
            .entry((b, sb))
            .or_default()
            .push((along(&l.el[a], sb), i, false));
    }
    let mut ends = vec![((0.0, 0.0), (0.0, 0.0)); g.flows.len()];
    for ((e, side), mut list) in ports {
        list.sort();
        let n = list.len();
        for (k, &(_, i, is_start)) in list.iter().enumerate() {
            let f = (k as f64 + 1.0) / (n as f64 + 1.0);
            let p = side_point(&l.el[e], g.els[e].1.kind, side, f);
            if is_start {
                ends[i].0 = p;
            } else {
                ends[i].1 = p;
            }
        }
    }
    sides
        .iter()
        .zip(ends)
        .map(|(&(sa, sb), (p0, p3))| Routed {
            curve: curve(p0, sa, p3, sb),
        })
        .collect()
}

/// A flow label's box, placed along its curve where it covers no element and no other label, if
/// there is such a place.
fn place_label(
    c: &Curve,
    w: f64,
    h: f64,
    placed: &[(f64, f64, f64, f64)],
    boxes: &Grid,
    els: &[Rect],
) -> (f64, f64) {
    const TS: [f64; 9] = [0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74, 0.18, 0.82];
    let mut best = (f64::MAX, c.at(0.5));
    for (k, &t) in TS.iter().enumerate() {
        let (cx, cy) = c.at(t);
        let (x0, y0, x1, y1) = (cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0);
        let overlap = |a: (f64, f64, f64, f64)| {
            let ox = (x1.min(a.2) - x0.max(a.0)).max(0.0);
            let oy = (y1.min(a.3) - y0.max(a.1)).max(0.0);
            ox * oy
        };
        let mut cost: f64 = placed.iter().map(|&p| overlap(p)).sum();
        let mut seen: Vec<usize> = Vec::new();
        for (px, py) in [(x0, y0), (x1, y0), (x0, y1), (x1, y1), (cx, cy)] {
            for &i in boxes.near(px, py) {
                if !seen.contains(&i) {
                    seen.push(i);
                    let r = &els[i];
                    cost += overlap((
                        r.x as f64,
                        r.y as f64,
                        (r.x + r.w) as f64,
                        (r.y + r.h) as f64,
                    )) * 2.0;
                }
            }
        }
        let cost = cost + k as f64 * 0.01;
        if cost < best.0 {
            best = (cost, (cx, cy));
        }
        if cost < 1.0 {
            break;
        }
    }
    best.1
}

/// The smallest box around points.
#[derive(Debug, Clone, Copy)]
struct Extent {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl Default for Extent {
    fn default() -> Extent {
        Extent {
            x0: 0.0,
            y0: 0.0,
            x1: 0.0,
            y1: 0.0,
        }
    }
}

impl Extent {
    fn add(&mut self, x: f64, y: f64) {
        self.x0 = self.x0.min(x);
        self.y0 = self.y0.min(y);
        self.x1 = self.x1.max(x);
        self.y1 = self.y1.max(y);
    }
}

/// A flow's label: its text, what is shown of it, and its box.
struct Label {
    text: String,
    shown: String,
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

/// The label of every flow (its name, else its protocol, else its id), each placed along its
/// curve where it covers the least.
fn flow_labels(g: &Graph<'_>, l: &Layout, routes: &[Routed]) -> Vec<Label> {
    // Labels keep off the elements and the names of the boundaries.
    let mut obstacles = l.el.clone();
    for (b, r) in l.bd.iter().enumerate() {
        let name = clean(g.boundary_name(b));
        let w = (text_width(&name, BOUNDARY_SIZE, true).ceil() as i64 + 24).min(r.w);
        obstacles.push(Rect {
            x: r.x,
            y: r.y,
            w,
            h: HEAD - 4,
        });
    }
    let grid = Grid::new(&obstacles);
    let mut placed: Vec<(f64, f64, f64, f64)> = Vec::new();
    let mut out = Vec::with_capacity(g.flows.len());
    for (i, &(id, f, _, _)) in g.flows.iter().enumerate() {
        let text = clean(f.name.as_deref().or(f.protocol.as_deref()).unwrap_or(id));
        let (shown, _) = fit(&text, MAX_FLOW_LABEL_W, LABEL_SIZE, false);
        let w = text_width(&shown, LABEL_SIZE, false) + 8.0;
        let h = 15.0;
        let (cx, cy) = place_label(&routes[i].curve, w, h, &placed, &grid, &obstacles);
        let (x, y) = (cx - w / 2.0, cy - h / 2.0);
        placed.push((x, y, x + w, y + h));
        out.push(Label {
            text,
            shown,
            x,
            y,
            w,
            h,
        });
    }
    out
}

/// The drawing as SVG 1.1: the title, a legend, the trust boundaries as nested dashed boxes, the
/// elements by kind (external entity a rectangle, process a rounded shape, data store an
/// open-sided box) coloured by their highest open severity with the number of their open threats
/// in a badge, and the flows as labelled arrows.
///
/// Element and boundary groups carry `data-id` and `data-kind`, and their first shape (class
/// `shape`) the box they occupy, so a reader — or a test — can check the geometry.
pub fn svg(model: &Model, analysis: Option<&Analysis>) -> String {
    let g = Graph::new(model, analysis);
    let title = clean(model.name.as_deref().unwrap_or("Data-flow diagram"));
    let subtitle = subtitle(&g, analysis.is_some());
    let legend = legend(analysis.is_some());
    let header_w = (text_width(&title, 20.0, true)
        .max(text_width(&subtitle, 12.0, false))
        .max(legend.1)
        .ceil() as i64)
        .min(1200)
        + 2 * MARGIN;
    let l = layout(&g);
    let routes = route_flows(&g, &l);
    let labels = flow_labels(&g, &l, &routes);
    // The canvas: everything drawn, the margins, the header above.
    let mut ext = Extent::default();
    for r in l.el.iter().chain(&l.bd) {
        ext.add(r.x as f64, r.y as f64);
        ext.add((r.x + r.w) as f64, (r.y + r.h) as f64);
    }
    for r in &routes {
        for i in 0..=32 {
            let (x, y) = r.curve.at(i as f64 / 32.0);
            ext.add(x, y);
        }
    }
    for lb in &labels {
        ext.add(lb.x, lb.y);
        ext.add(lb.x + lb.w, lb.y + lb.h);
    }
    let header_h = if analysis.is_some() {
        HEADER_H_ANALYSED
    } else {
        HEADER_H
    };
    let x0 = ext.x0.floor() as i64 - MARGIN;
    let y0 = ext.y0.floor() as i64 - MARGIN - header_h;
    let width = (ext.x1.ceil() as i64 + MARGIN - x0).max(header_w);
    let height = ext.y1.ceil() as i64 + MARGIN - y0;
    let mut s = String::with_capacity(4096 + 900 * g.els.len() + 700 * g.flows.len());
    let _ = write!(
        s,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" viewBox=\"{x0} {y0} {width} {height}\" width=\"{width}\" height=\"{height}\">\n",
    );
    let _ = writeln!(
        s,
        "<title>{}</title>",
        esc(&format!("{title} — data-flow diagram"))
    );
    s.push_str(STYLE);
    s.push_str(DEFS);
    let _ = writeln!(
        s,
        "<rect class=\"background\" x=\"{x0}\" y=\"{y0}\" width=\"{width}\" height=\"{height}\"/>"
    );
    // Title and legend.
    let (shown, cut) = fit(&title, (width - 2 * MARGIN) as f64, 20.0, true);
    let _ = write!(
        s,
        "<g class=\"header\" transform=\"translate({} {y0})\">",
        x0 + MARGIN
    );
    if cut {
        let _ = write!(s, "<title>{}</title>", esc(&title));
    }
    let _ = writeln!(
        s,
        "<text class=\"title\" x=\"0\" y=\"36\">{}</text><text class=\"subtitle\" x=\"0\" y=\"56\">{}</text><g class=\"legend\" transform=\"translate(0 70)\">{}</g></g>",
        esc(&shown),
        esc(&subtitle),
        legend.0
    );
    // Boundaries, outermost first so the inner ones are drawn over them.
    let mut outer_first: Vec<usize> = (0..g.bds.len()).collect();
    outer_first.sort_by_key(|&b| (g.bd_depth[b], b));
    s.push_str("<g class=\"boundaries\">\n");
    for b in outer_first {
        let r = l.bd[b];
        let name = clean(g.boundary_name(b));
        let (shown, _) = fit(&name, (r.w - 20) as f64, BOUNDARY_SIZE, true);
        let mut tip = format!("Trust boundary: {name}");
        if let Some(d) = model.boundaries[g.bds[b]].description.as_deref() {
            let _ = write!(tip, "\n{d}");
        }
        let _ = writeln!(
            s,
            "<g class=\"boundary depth-{}\" data-id=\"{}\" data-kind=\"boundary\" data-parent=\"{}\"><title>{}</title><rect class=\"shape\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"6\"/><text class=\"name\" x=\"{}\" y=\"{}\">{}</text></g>",
            g.bd_depth[b] % 2,
            esc(g.bds[b]),
            g.bd_parent[b].map(|p| esc(g.bds[p])).unwrap_or_default(),
            esc(&tip),
            r.x,
            r.y,
            r.w,
            r.h,
            r.x + 10,
            r.y + 19,
            esc(&shown)
        );
    }
    s.push_str("</g>\n<g class=\"flows\">\n");
    for (i, &(id, f, a, b)) in g.flows.iter().enumerate() {
        let c = routes[i].curve.0;
        let mut tip = format!(
            "{} → {}: {}",
            clean(g.element_name(a)),
            clean(g.element_name(b)),
            f.name.as_deref().unwrap_or(id)
        );
        if let Some(p) = &f.protocol {
            let _ = write!(tip, " ({p})");
        }
        if f.bidirectional {
            tip.push_str(", both ways");
        }
        if !f.data.is_empty() {
            let _ = write!(tip, "\ndata: {}", f.data.join(", "));
        }
        let o = g.flow_open[i];
        if o.count > 0 {
            let _ = write!(tip, "\n{} open threat{}", o.count, plural(o.count));
        }
        let _ = writeln!(
            s,
            "<g class=\"flow {}\" data-id=\"{}\" data-from=\"{}\" data-to=\"{}\" data-open=\"{}\"><title>{}</title><path d=\"M{} {} C{} {} {} {} {} {}\" marker-end=\"url(#arrow-end)\"{}/></g>",
            o.class(),
            esc(id),
            esc(g.els[a].0),
            esc(g.els[b].0),
            o.count,
            esc(&tip),
            num(c[0].0),
            num(c[0].1),
            num(c[1].0),
            num(c[1].1),
            num(c[2].0),
            num(c[2].1),
            num(c[3].0),
            num(c[3].1),
            if f.bidirectional {
                " marker-start=\"url(#arrow-start)\""
            } else {
                ""
            }
        );
    }
    s.push_str("</g>\n<g class=\"elements\">\n");
    for (e, &(id, el)) in g.els.iter().enumerate() {
        element(&mut s, &g, e, id, el, &l.el[e]);
    }
    s.push_str("</g>\n<g class=\"flow-labels\">\n");
    for (i, lb) in labels.iter().enumerate() {
        let _ = writeln!(
            s,
            "<g class=\"flow-label {}\" data-id=\"{}\"><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\"/><text x=\"{}\" y=\"{}\">{}</text></g>",
            g.flow_open[i].class(),
            esc(g.flows[i].0),
            esc(&lb.text),
            num(lb.x),
            num(lb.y),
            num(lb.w),
            num(lb.h),
            num(lb.x + lb.w / 2.0),
            num(lb.y + lb.h / 2.0 + LABEL_SIZE * 0.35),
            esc(&lb.shown)
        );
    }
    s.push_str("</g>\n</svg>\n");
    s
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn subtitle(g: &Graph<'_>, analysed: bool) -> String {
    let mut s = format!(
        "{} element{} · {} flow{} · {} trust boundar{}",
        g.els.len(),
        plural(g.els.len()),
        g.model.flows.len(),
        plural(g.model.flows.len()),
        g.bds.len(),
        if g.bds.len() == 1 { "y" } else { "ies" }
    );
    if analysed {
        let _ = write!(s, " · {} open threat{}", g.open_total, plural(g.open_total));
    }
    s
}

/// One element: its shape, name, kind, and its badge when it has open threats.
fn element(
    s: &mut String,
    g: &Graph<'_>,
    e: usize,
    id: &str,
    el: &crate::model::Element,
    r: &Rect,
) {
    let o = g.el_open[e];
    let name = clean(g.element_name(e));
    let kind = el.kind.as_str();
    let mut tip = format!("{name} ({} `{id}`)", kind.replace('-', " "));
    if let Some(d) = &el.description {
        let _ = write!(tip, "\n{d}");
    }
    if !el.data.is_empty() {
        let _ = write!(tip, "\ndata: {}", el.data.join(", "));
    }
    if o.count > 0 {
        let _ = write!(
            tip,
            "\n{} open threat{}, the highest {}",
            o.count,
            plural(o.count),
            o.worst.map_or("", Level::as_str)
        );
    }
    let _ = write!(
        s,
        "<g class=\"element {kind} {}\" data-id=\"{}\" data-kind=\"{kind}\" data-open=\"{}\" data-severity=\"{}\" data-boundary=\"{}\"><title>{}</title>",
        o.class(),
        esc(id),
        o.count,
        o.worst.map_or("none", Level::as_str),
        g.el_parent[e].map(|b| esc(g.bds[b])).unwrap_or_default(),
        esc(&tip)
    );
    let (x, y, w, h) = (r.x, r.y, r.w, r.h);
    match el.kind {
        ElementKind::ExternalEntity => {
            let _ = write!(
                s,
                "<rect class=\"shape\" x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"2\"/>"
            );
        }
        ElementKind::Process => {
            let _ = write!(
                s,
                "<rect class=\"shape\" x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"{}\"/>",
                h / 2
            );
        }
        ElementKind::DataStore => {
            let _ = write!(
                s,
                "<rect class=\"shape\" x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\"/><path class=\"rule\" d=\"M{x} {y} H{} M{x} {} H{}\"/>",
                x + w,
                y + h,
                x + w
            );
        }
    }
    let second = el
        .attrs
        .get("technology")
        .and_then(|v| v.as_str())
        .map(clean)
        .map(|t| format!("{} · {t}", kind.replace('-', " ")))
        .unwrap_or_else(|| kind.replace('-', " "));
    let lines = wrap(&name, (w - 20) as f64, NAME_SIZE, true);
    let (second, _) = fit(&second, (w - 16) as f64, KIND_SIZE, false);
    let cx = x + w / 2;
    // One line of name and the kind below, or two and the kind, centred.
    let mut baseline = y + h / 2 - 1 - 8 * (lines.len() as i64 - 1);
    for line in &lines {
        let _ = write!(
            s,
            "<text class=\"name\" x=\"{cx}\" y=\"{baseline}\">{}</text>",
            esc(line)
        );
        baseline += 15;
    }
    let _ = write!(
        s,
        "<text class=\"kind\" x=\"{cx}\" y=\"{}\">{}</text>",
        baseline,
        esc(&second)
    );
    if o.count > 0 {
        let label = if o.count > 99 {
            "99+".to_string()
        } else {
            o.count.to_string()
        };
        let bw = (text_width(&label, 10.5, true) + 10.0).max(20.0);
        let bx = (x + w) as f64 - 10.0 - bw / 2.0;
        let by = y as f64 - 8.0;
        let _ = write!(
            s,
            "<g class=\"badge\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"18\" rx=\"9\"/><text x=\"{}\" y=\"{}\">{label}</text></g>",
            num(bx),
            num(by),
            num(bw),
            num(bx + bw / 2.0),
            num(by + 12.8)
        );
    }
    s.push_str("</g>\n");
}

/// One entry of the legend at `x`: its symbol (drawn by `shape` at an x) and its text; moves `x`
/// past it.
fn legend_item(out: &mut String, x: &mut f64, shape: impl Fn(&str) -> String, label: &str) {
    let _ = write!(
        out,
        "<g class=\"legend-item\">{}<text x=\"{}\" y=\"13\">{label}</text></g>",
        shape(&num(*x)),
        num(*x + 34.0)
    );
    *x += 34.0 + text_width(label, 11.0, false) + 18.0;
}

/// The legend as SVG (relative to its top left corner) and its width.
fn legend(analysed: bool) -> (String, f64) {
    let mut s = String::new();
    let mut x = 0.0;
    legend_item(
        &mut s,
        &mut x,
        |x| {
            format!(
                "<g class=\"element external-entity sev-none\"><rect class=\"shape\" x=\"{x}\" y=\"1\" width=\"28\" height=\"16\" rx=\"2\"/></g>"
            )
        },
        "external entity",
    );
    legend_item(
        &mut s,
        &mut x,
        |x| {
            format!(
                "<g class=\"element process sev-none\"><rect class=\"shape\" x=\"{x}\" y=\"1\" width=\"28\" height=\"16\" rx=\"8\"/></g>"
            )
        },
        "process",
    );
    legend_item(
        &mut s,
        &mut x,
        |x| {
            format!(
                "<g class=\"element data-store sev-none\"><rect class=\"shape\" x=\"{x}\" y=\"1\" width=\"28\" height=\"16\"/><path class=\"rule\" d=\"M{x} 1 h28 M{x} 17 h28\"/></g>"
            )
        },
        "data store",
    );
    legend_item(
        &mut s,
        &mut x,
        |x| {
            format!(
                "<g class=\"boundary depth-0\"><rect class=\"shape\" x=\"{x}\" y=\"1\" width=\"28\" height=\"16\" rx=\"3\"/></g>"
            )
        },
        "trust boundary",
    );
    legend_item(
        &mut s,
        &mut x,
        |x| {
            format!("<g class=\"flow\"><path d=\"M{x} 9 h27\" marker-end=\"url(#arrow-end)\"/></g>")
        },
        "data flow",
    );
    legend_item(
        &mut s,
        &mut x,
        |x| {
            format!(
                "<g class=\"flow\"><path d=\"M{x} 9 h27\" marker-end=\"url(#arrow-end)\" marker-start=\"url(#arrow-start)\"/></g>"
            )
        },
        "both ways",
    );
    let mut width = x;
    if analysed {
        let mut x = 0.0;
        s.push_str("<g transform=\"translate(0 24)\">");
        for (class, label) in [
            ("sev-none", "no open threat"),
            ("sev-low", "highest open: low"),
            ("sev-medium", "medium"),
            ("sev-high", "high"),
            ("sev-critical", "critical"),
        ] {
            legend_item(
                &mut s,
                &mut x,
                |x| {
                    format!(
                        "<g class=\"element external-entity {class}\"><rect class=\"shape\" x=\"{x}\" y=\"1\" width=\"28\" height=\"16\" rx=\"2\"/></g>"
                    )
                },
                label,
            );
        }
        legend_item(
            &mut s,
            &mut x,
            |x| {
                format!(
                    "<g class=\"element sev-high\"><g class=\"badge\" transform=\"translate({x} 0)\"><rect x=\"4\" y=\"0\" width=\"20\" height=\"18\" rx=\"9\"/><text x=\"14\" y=\"12.8\">3</text></g></g>"
                )
            },
            "open threats",
        );
        s.push_str("</g>");
        width = width.max(x);
    }
    (s, width)
}

const STYLE: &str = "<style type=\"text/css\"><![CDATA[
text{font-family:\"Segoe UI\",\"Helvetica Neue\",Helvetica,Arial,sans-serif;fill:#1f2937}
.background{fill:#ffffff}
.title{font-size:20px;font-weight:700}
.subtitle{font-size:12px;fill:#4b5563}
.legend text{font-size:11px;fill:#374151}
.boundary .shape{fill:#f8fafc;stroke:#c2410c;stroke-width:1.4;stroke-dasharray:7 4}
.boundary.depth-1 .shape{fill:#fff7ed}
.boundary .name{font-size:12px;font-weight:700;fill:#9a3412}
.element .shape{fill:#ffffff;stroke:#475569;stroke-width:1.5}
.element .name{font-size:12.5px;font-weight:600;text-anchor:middle}
.element .kind{font-size:10px;fill:#6b7280;text-anchor:middle}
.element .rule{fill:none;stroke:#475569;stroke-width:1.8}
.sev-low .shape{fill:#dbeafe;stroke:#2563eb}
.sev-medium .shape{fill:#fef3c7;stroke:#b7791f}
.sev-high .shape{fill:#fed7aa;stroke:#ea580c}
.sev-critical .shape{fill:#fecaca;stroke:#b91c1c}
.sev-low .rule{stroke:#2563eb}
.sev-medium .rule{stroke:#b7791f}
.sev-high .rule{stroke:#ea580c}
.sev-critical .rule{stroke:#b91c1c}
.element.data-store .shape{stroke:none}
.badge rect{fill:#475569;stroke:#ffffff;stroke-width:1.5}
.sev-low .badge rect{fill:#2563eb}
.sev-medium .badge rect{fill:#b7791f}
.sev-high .badge rect{fill:#ea580c}
.sev-critical .badge rect{fill:#b91c1c}
.badge text{font-size:10.5px;font-weight:700;fill:#ffffff;text-anchor:middle}
.flow path{fill:none;stroke:#64748b;stroke-width:1.3}
.flow-label rect{fill:#ffffff;fill-opacity:0.92;stroke:#cbd5e1;stroke-width:0.8}
.flow-label text{font-size:10.5px;fill:#334155;text-anchor:middle}
.flow-label.sev-low rect{stroke:#2563eb}
.flow-label.sev-medium rect{stroke:#b7791f}
.flow-label.sev-high rect{stroke:#ea580c;stroke-width:1.2}
.flow-label.sev-critical rect{stroke:#b91c1c;stroke-width:1.4}
]]></style>
";

const DEFS: &str = "<defs><marker id=\"arrow-end\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0 0 L10 5 L0 10 z\" fill=\"#64748b\"/></marker><marker id=\"arrow-start\" viewBox=\"0 0 10 10\" refX=\"0\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M10 0 L0 5 L10 10 z\" fill=\"#64748b\"/></marker></defs>
";

/// A number for SVG: one decimal at most, no `-0`.
fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    let r = if r == 0.0 { 0.0 } else { r };
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// Text for one line: control characters (line breaks included) become spaces.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Text escaped for XML content and attribute values; characters XML 1.0 forbids are replaced.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// An estimate of the width of a character in ems, for a common sans-serif font.
fn char_em(c: char) -> f64 {
    match c {
        'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | 'I' | ' ' => 0.3,
        'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '-' | '/' | '"' => 0.38,
        'm' | 'w' | '@' => 0.86,
        'M' | 'W' => 0.9,
        'A'..='Z' | '&' | '%' | '#' => 0.7,
        c if c.is_ascii() => 0.56,
        // Letters of other scripts, symbols, CJK and emoji: wide, to be safe.
        c if (c as u32) < 0x2E80 => 0.65,
        _ => 1.0,
    }
}

fn text_width(s: &str, size: f64, bold: bool) -> f64 {
    let w: f64 = s.chars().map(char_em).sum::<f64>() * size;
    if bold { w * 1.07 } else { w }
}

/// `s` on at most two lines of `max` pixels, broken between words where it can be, the second
/// shortened with an ellipsis if it still does not fit.
fn wrap(s: &str, max: f64, size: f64, bold: bool) -> Vec<String> {
    if text_width(s, size, bold) <= max {
        return vec![s.to_string()];
    }
    let mut first = String::new();
    let mut rest = s;
    for (i, word) in s.split_inclusive(' ').enumerate() {
        let candidate = format!("{first}{word}");
        if i > 0 && text_width(candidate.trim_end(), size, bold) > max {
            break;
        }
        first = candidate;
        rest = &s[first.len()..];
    }
    if text_width(first.trim_end(), size, bold) > max {
        // One word too long for a line: cut it where the line ends.
        let mut w = 0.0;
        let mut cut = 0;
        for (i, c) in s.char_indices() {
            w += char_em(c) * size * if bold { 1.07 } else { 1.0 };
            if w > max {
                break;
            }
            cut = i + c.len_utf8();
        }
        first = s[..cut].to_string();
        rest = &s[cut..];
    }
    let (second, _) = fit(rest.trim(), max, size, bold);
    let first = first.trim_end().to_string();
    if second.is_empty() {
        vec![first]
    } else {
        vec![first, second]
    }
}

/// `s` shortened with an ellipsis to fit `max` pixels, and whether it was.
fn fit(s: &str, max: f64, size: f64, bold: bool) -> (String, bool) {
    if text_width(s, size, bold) <= max {
        return (s.to_string(), false);
    }
    let budget = max - text_width("…", size, bold);
    let mut w = 0.0;
    let mut out = String::new();
    for c in s.chars() {
        let cw = char_em(c) * size * if bold { 1.07 } else { 1.0 };
        if w + cw > budget {
            break;
        }
        w += cw;
        out.push(c);
    }
    let mut out = out.trim_end().to_string();
    out.push('…');
    (out, true)
}

/// The same graph in Graphviz DOT: boundaries as nested `cluster_` subgraphs, elements as nodes
/// shaped by kind (box, ellipse, cylinder) and coloured by their highest open severity, the
/// number of open threats in their label, flows as edges (both ways for bidirectional flows).
pub fn dot(model: &Model, analysis: Option<&Analysis>) -> String {
    let g = Graph::new(model, analysis);
    let title = clean(model.name.as_deref().unwrap_or("Data-flow diagram"));
    let mut s = String::with_capacity(1024 + 200 * g.els.len() + 150 * g.flows.len());
    let _ = writeln!(s, "digraph \"dfd\" {{");
    let _ = writeln!(
        s,
        "  graph [label=\"{}\", labelloc=t, fontsize=18, fontname=\"Helvetica\", rankdir=LR, nodesep=0.4, ranksep=0.9, newrank=true];",
        dq(&format!("{title}\n{}", subtitle(&g, analysis.is_some())))
    );
    let _ = writeln!(
        s,
        "  node [fontname=\"Helvetica\", fontsize=11, style=filled, fillcolor=\"#ffffff\", color=\"#475569\"];"
    );
    let _ = writeln!(
        s,
        "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#64748b\"];"
    );
    // Children of each container (0 the graph, b + 1 boundary b).
    let nc = g.bds.len() + 1;
    let mut sub: Vec<Vec<usize>> = vec![Vec::new(); nc];
    let mut els: Vec<Vec<usize>> = vec![Vec::new(); nc];
    for (b, p) in g.bd_parent.iter().enumerate() {
        sub[p.map_or(0, |p| p + 1)].push(b);
    }
    for (e, p) in g.el_parent.iter().enumerate() {
        els[p.map_or(0, |p| p + 1)].push(e);
    }
    // Depth first without recursion: Some(b) opens boundary b, None closes the innermost.
    let mut stack: Vec<Option<usize>> = sub[0].iter().rev().map(|&b| Some(b)).collect();
    let mut depth = 1;
    let node = |s: &mut String, e: usize, depth: usize| {
        let (id, el) = g.els[e];
        let o = g.el_open[e];
        let (fill, line) = colours(o);
        let shape = match el.kind {
            ElementKind::ExternalEntity => "box",
            ElementKind::Process => "ellipse",
            ElementKind::DataStore => "cylinder",
        };
        let name = g.element_name(e);
        let mut label = name.to_string();
        if o.count > 0 {
            let _ = write!(
                label,
                "\n{} open · {}",
                o.count,
                o.worst.map_or("", Level::as_str)
            );
        }
        let _ = writeln!(
            s,
            "{:indent$}\"{}\" [label=\"{}\", shape={shape}, fillcolor=\"{fill}\", color=\"{line}\", tooltip=\"{}\"];",
            "",
            dq(id),
            dq(&label),
            dq(&format!("{name} ({})", el.kind.as_str())),
            indent = depth * 2
        );
    };
    for &e in &els[0] {
        node(&mut s, e, 1);
    }
    while let Some(top) = stack.pop() {
        match top {
            Some(b) => {
                let _ = writeln!(
                    s,
                    "{:indent$}subgraph \"cluster_{}\" {{",
                    "",
                    dq(g.bds[b]),
                    indent = depth * 2
                );
                depth += 1;
                let _ = writeln!(
                    s,
                    "{:indent$}label=\"{}\"; style=\"dashed,rounded\"; color=\"#c2410c\"; fontcolor=\"#9a3412\"; fontsize=12;",
                    "",
                    dq(g.boundary_name(b)),
                    indent = depth * 2
                );
                for &e in &els[b + 1] {
                    node(&mut s, e, depth);
                }
                stack.push(None);
                stack.extend(sub[b + 1].iter().rev().map(|&c| Some(c)));
            }
            None => {
                depth -= 1;
                let _ = writeln!(s, "{:indent$}}}", "", indent = depth * 2);
            }
        }
    }
    for (i, &(id, f, a, b)) in g.flows.iter().enumerate() {
        let o = g.flow_open[i];
        let label = f.name.as_deref().or(f.protocol.as_deref()).unwrap_or(id);
        let mut attrs = format!("label=\"{}\"", dq(label));
        if f.bidirectional {
            attrs.push_str(", dir=both");
        }
        if o.count > 0 {
            let _ = write!(attrs, ", color=\"{}\"", colours(o).1);
        }
        let mut tip = format!("{} → {}: {label}", g.element_name(a), g.element_name(b));
        if o.count > 0 {
            let _ = write!(tip, " ({} open threat{})", o.count, plural(o.count));
        }
        let _ = writeln!(
            s,
            "  \"{}\" -> \"{}\" [{attrs}, tooltip=\"{}\"];",
            dq(g.els[a].0),
            dq(g.els[b].0),
            dq(&tip)
        );
    }
    s.push_str("}\n");
    s
}

/// Text for a DOT quoted string: backslashes and quotes escaped, line breaks as `\n`, other
/// control characters dropped.
fn dq(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}
