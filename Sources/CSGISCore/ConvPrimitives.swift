import CDNNL
import Foundation

/// The convolution primitives of one engine, by shape: created once, shared by the layers
/// (and plans) that have the same shape.
final class ConvPrimitives {
    private let store: WeightStore
    private let precision: Precision
    private let ctx: DNNLContext
    private var prims: [Key: DNNLPrimitive] = [:]
    /// Names of the oneDNN implementations chosen, for diagnostics and benchmarks.
    private(set) var implementations: Set<String> = []

    private struct Key: Hashable {
        var cin, cout, dilation, rows, width, inputRows, padH: Int
        var src, dst: Element, sum: Element?
        /// int8: the layer (its scales are its own); -1 otherwise (layers of one shape share)
        var layer: Int
        var relu: Bool
        var residual: Int32
        var blocked: Bool
        var winograd: Bool
    }

    /// Records a kernel that runs outside oneDNN (`Winograd2`'s).
    func note(_ implementation: String) { implementations.insert(implementation) }

    init(store: WeightStore, precision: Precision, ctx: DNNLContext) { self.store = store; self.precision = precision; self.ctx = ctx }

    /// `sum`: the type dst's earlier contents are read as (int8: an unsigned skip into a signed sum).
    /// `rows` output rows from `inputRows` input rows, `padH` zero rows implied above and
    /// below; `residual`: 0 none, 1 dst += result ("sum"), 2 + a residual after the ReLU
    /// ("binary add": oneDNN 2.6 has no AVX2 jit kernel for ReLU-then-sum, which fell back
    /// to ref:any, ~50x slower; the residual must not be dst, as AVX2 keeps partial sums there).
    /// `layout`: src, dst and the residual's (`ActivationLayout`). `winograd`: the pinned
    /// Winograd kernel over nChw16c src and dst (`Winograd`), whatever `layout` says.
    func get(layer: Int, rows: Int, width: Int, inputRows: Int, padH: Int, relu: Bool, residual: Int32,
             src srcT: Element, dst dstT: Element, sum sumT: Element? = nil, layout: ActivationLayout = .nhwc,
             winograd: Bool = false) throws -> DNNLPrimitive {
        let c = store.convs[layer], q = store.quantization?.layers[layer]
        let key = Key(cin: c.cin, cout: c.cout, dilation: c.dilation, rows: rows, width: width, inputRows: inputRows, padH: padH,
                      src: srcT, dst: dstT, sum: sumT, layer: q == nil ? -1 : layer, relu: relu, residual: residual,
                      blocked: layout == .blocked8, winograd: winograd)
        if let p = prims[key] { return p }
        let weightT: Element = q == nil ? precision.activation : .s8
        var pd: dnnl_primitive_desc_t?, p: dnnl_primitive_t?
        let status = (q?.outputScale ?? []).withUnsafeBufferPointer { scales -> dnnl_status_t in
            var spec = csgis_conv_spec(h: Int32(rows), w: Int32(width), cin: Int32(c.cin), cout: Int32(c.cout), dilation: Int32(c.dilation),
                                       ih: Int32(inputRows), pad_h: Int32(padH), src_dt: srcT.dnnl, wei_dt: weightT.dnnl, dst_dt: dstT.dnnl,
                                       relu: relu ? 1 : 0, sum: residual, sum_scale: q?.sumScale ?? 1, sum_dt: sumT?.dnnl ?? dnnl_data_type_undef,
                                       scales: q == nil ? nil : scales.baseAddress, n_scales: Int32(scales.count),
                                       block: winograd ? 16 : layout == .blocked8 ? 8 : 0, winograd: winograd ? 1 : 0)
            return csgis_conv_create(ctx.engine, &spec, &pd, &p)
        }
        try check(status, "creating a \(c.cin)->\(c.cout) \(winograd ? "Winograd " : "")convolution (dilation \(c.dilation)) for \(width)x\(rows)")
        let prim = DNNLPrimitive(handle: p!, pd: pd!)
        prims[key] = prim
        implementations.insert(String(cString: csgis_primitive_impl_name(pd)))
        return prim
    }
}
