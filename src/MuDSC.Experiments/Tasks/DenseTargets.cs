using static TorchSharp.torch;

namespace MuDSC.Experiments.Tasks;

/// <summary>
/// The dense targets of the task suite, computed from raw pixels <c>[N, 1, H, W]</c> in [0, 1] (not normalised).
/// Every formula is in docs/heterogeneous-tasks.md; pixels outside the image count as background (0).
/// </summary>
public static class DenseTargets
{
    /// <summary>A pixel above this is part of the item; below, background (Fashion-MNIST's background is 0).</summary>
    public const float ItemThreshold = 0.1f;

    /// <summary>Depth is the distance to the background in pixels divided by this, so most items lie in [0, 1].</summary>
    public const float DepthScale = 8f;

    /// <summary>Harris' trace weight k in R = det(A) - k trace(A)^2.</summary>
    public const float HarrisK = 0.04f;

    /// <summary>Per pixel: 0 for background, 1 + the image's class where the item is (<c>[N, H, W]</c>, int64).</summary>
    public static Tensor Segmentation(Tensor pixels, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var item = pixels.Above(ItemThreshold).squeeze(1).to_type(ScalarType.Int64);
        return item.mul(labels.to_type(ScalarType.Int64).Plus(1L).view(-1, 1, 1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// 2D edges: the Sobel gradient magnitude divided by 4, sqrt(gx^2 + gy^2) / 4 with gx = [-1 0 1; -2 0 2; -1 0 1] (x along
    /// the width), gy its transpose, zero padding: a unit step between two pixels gives 1.
    /// </summary>
    public static Tensor Edges(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var (gx, gy) = Sobel(pixels);
        return gx.square().Plus(gy.square()).sqrt().DividedBy(4).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// 2D keypoints: the Harris corner response, signed. With Ix, Iy the Sobel derivatives divided by 8 (intensity per
    /// pixel) and A = box3(Ix^2), B = box3(Iy^2), C = box3(Ix Iy) (3x3 means, zero padding), R = AB - C^2 - k (A + B)^2,
    /// k = <see cref="HarrisK"/>, the target is 4 sign(R) sqrt(|R|): positive at corners, negative along edges, 0 on flat
    /// areas. (Clipped at 0, the corners alone were so sparse that predicting zero beat a trained model.)
    /// </summary>
    public static Tensor Keypoints(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var (gx, gy) = Sobel(pixels);
        var ix = gx.DividedBy(8);
        var iy = gy.DividedBy(8);
        var a = Box3(ix.square());
        var b = Box3(iy.square());
        var c = Box3(ix.mul(iy));
        var trace = a.Plus(b);
        var response = a.mul(b).sub(c.square()).sub(trace.square().Times(HarrisK));
        return response.sign().mul(response.abs().sqrt()).Times(4).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A depth analogue: for each item pixel, the Euclidean distance (in pixels, between pixel centres) to the nearest
    /// background pixel, pixels outside the image included, divided by <see cref="DepthScale"/>; 0 on the background.
    /// </summary>
    public static Tensor Depth(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var mask = pixels.Above(ItemThreshold).to(CPU).contiguous();
        long n = mask.shape[0], h = mask.shape[2], w = mask.shape[3];
        var items = mask.data<bool>().ToArray();
        var depth = new float[items.Length];
        Parallel.For(0, (int)n, i =>
        {
            var distance = DistanceTransform.ToBackground(items.AsSpan((int)(i * h * w), (int)(h * w)).ToArray(), (int)h, (int)w);
            for (int p = 0; p < distance.Length; p++) depth[i * h * w + p] = (float)distance[p] / DepthScale;
        });
        return tensor(depth, [n, 1, h, w]).to(pixels.device).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A surface-normal analogue: the unit gradient of the depth field (2 channels, x then y), the gradient by central
    /// differences (d[i+1] - d[i-1]) / 2 with zero beyond the image; 0 where the gradient's length is below 1e-6.
    /// </summary>
    public static Tensor Normals(Tensor depth)
    {
        using var scope = NewDisposeScope();
        using var dx = tensor(new float[] { -0.5f, 0f, 0.5f }, [1, 1, 1, 3], device: depth.device);
        using var dy = tensor(new float[] { -0.5f, 0f, 0.5f }, [1, 1, 3, 1], device: depth.device);
        var gx = nn.functional.conv2d(depth, dx, padding: [0, 1]);
        var gy = nn.functional.conv2d(depth, dy, padding: [1, 0]);
        var length = gx.square().Plus(gy.square()).sqrt();
        var safe = length.AtLeast(1e-6);
        var keep = length.NotBelow(1e-6).to_type(ScalarType.Float32);
        return cat([gx.div(safe).mul(keep), gy.div(safe).mul(keep)], 1).MoveToOuterDisposeScope();
    }

    /// <summary>The Sobel responses (x along the width, y along the height), zero padding.</summary>
    private static (Tensor X, Tensor Y) Sobel(Tensor pixels)
    {
        using var kx = tensor(new float[] { -1, 0, 1, -2, 0, 2, -1, 0, 1 }, [1, 1, 3, 3], device: pixels.device);
        using var ky = kx.transpose(2, 3).contiguous();
        return (nn.functional.conv2d(pixels, kx, padding: [1, 1]), nn.functional.conv2d(pixels, ky, padding: [1, 1]));
    }

    private static Tensor Box3(Tensor x) => nn.functional.avg_pool2d(x, 3, stride: 1, padding: 1, count_include_pad: true);
}

/// <summary>The exact Euclidean distance transform (Felzenszwalb and Huttenlocher's lower envelope of parabolas, rows then columns).</summary>
public static class DistanceTransform
{
    /// <summary>
    /// For each pixel of an <paramref name="height"/> x <paramref name="width"/> image (row-major), the distance to the
    /// nearest pixel where <paramref name="item"/> is false, pixels outside the image counting as such; 0 where it is false.
    /// </summary>
    public static double[] ToBackground(bool[] item, int height, int width)
    {
        // Pad a ring of background, so the image's outside is background at distance 1 from the border pixels.
        int h = height + 2, w = width + 2;
        var squared = new double[h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                bool inside = y > 0 && y <= height && x > 0 && x <= width && item[(y - 1) * width + x - 1];
                squared[y * w + x] = inside ? double.PositiveInfinity : 0;
            }
        var line = new double[Math.Max(h, w)];
        var result = new double[Math.Max(h, w)];
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++) line[x] = squared[y * w + x];
            Envelope(line, w, result);
            for (int x = 0; x < w; x++) squared[y * w + x] = result[x];
        }
        for (int x = 0; x < w; x++)
        {
            for (int y = 0; y < h; y++) line[y] = squared[y * w + x];
            Envelope(line, h, result);
            for (int y = 0; y < h; y++) squared[y * w + x] = result[y];
        }
        var distance = new double[height * width];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) distance[y * width + x] = Math.Sqrt(squared[(y + 1) * w + x + 1]);
        return distance;
    }

    /// <summary>result[q] = min over p of (q - p)^2 + f[p], for the first <paramref name="n"/> entries.</summary>
    private static void Envelope(double[] f, int n, double[] result)
    {
        var vertex = new int[n];
        var boundary = new double[n + 1];
        int k = -1;
        for (int q = 0; q < n; q++)
        {
            if (double.IsPositiveInfinity(f[q])) continue;
            while (k >= 0)
            {
                double s = Intersection(f, vertex[k], q);
                if (s > boundary[k]) break;
                k--;
            }
            k++;
            vertex[k] = q;
            boundary[k] = k == 0 ? double.NegativeInfinity : Intersection(f, vertex[k - 1], q);
            boundary[k + 1] = double.PositiveInfinity;
        }
        if (k < 0)
        {
            Array.Fill(result, double.PositiveInfinity, 0, n);
            return;
        }
        int j = 0;
        for (int q = 0; q < n; q++)
        {
            while (boundary[j + 1] < q) j++;
            double d = q - vertex[j];
            result[q] = d * d + f[vertex[j]];
        }
    }

    private static double Intersection(double[] f, int p, int q) => ((f[q] + (double)q * q) - (f[p] + (double)p * p)) / (2.0 * (q - p));
}
