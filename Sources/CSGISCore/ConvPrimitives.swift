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
        var dst: UInt32
        var relu: Bool
        var residual: Int32
    }

    init(store: WeightStore, precision: Precision, ctx: DNNLContext) { self.store = store; self.precision = precision; self.ctx = ctx }

    /// `rows` output rows from `inputRows` input rows, `padH` zero rows implied above and
    /// below; `residual`: 0 none, 1 dst += result ("sum"), 2 + a residual after the ReLU
    /// ("binary add": oneDNN 2.6 has no AVX2 jit kernel for ReLU-then-sum, which fell back
    /// to ref:any, ~50x slower; the residual must not be dst, as AVX2 keeps partial sums there).
    func get(layer: Int, rows: Int, width: Int, inputRows: Int, padH: Int, relu: Bool, residual: Int32,
             dst dstT: dnnl_data_type_t) throws -> DNNLPrimitive {
        let c = store.convs[layer]
        let key = Key(cin: c.cin, cout: c.cout, dilation: c.dilation, rows: rows, width: width, inputRows: inputRows, padH: padH,
                      dst: dstT.rawValue, relu: relu, residual: residual)
        if let p = prims[key] { return p }
        var spec = csgis_conv_spec(h: Int32(rows), w: Int32(width), cin: Int32(c.cin), cout: Int32(c.cout), dilation: Int32(c.dilation),
                                   ih: Int32(inputRows), pad_h: Int32(padH), src_dt: precision.activationType,
                                   wei_dt: precision.activationType, dst_dt: dstT, relu: relu ? 1 : 0, sum: residual)
        var pd: dnnl_primitive_desc_t?, p: dnnl_primitive_t?
        try check(csgis_conv_create(ctx.engine, &spec, &pd, &p),
                  "creating a \(c.cin)->\(c.cout) convolution (dilation \(c.dilation)) for \(width)x\(rows)")
        let prim = DNNLPrimitive(handle: p!, pd: pd!)
        prims[key] = prim
        implementations.insert(String(cString: csgis_primitive_impl_name(pd)))
        return prim
    }
}
