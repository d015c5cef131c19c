using MuDSC.Dsl;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Shop;

public static class Models
{
    /// <summary>Not partial (MDSC001), inside a type that is not partial either, and bn1 has no [Maps] (MDSC005).</summary>
    [Mergeable, MergeGroup("mid")]
    public sealed class Block : nn.Module<Tensor, Tensor>
    {
        [Maps("in", "mid")] private readonly Conv2d conv1 = nn.Conv2d(3, 16, 3, padding: 1);
        private readonly BatchNorm2d bn1 = nn.BatchNorm2d(16);
        [Maps("mid", "out")] private readonly Conv2d conv2 = nn.Conv2d(16, 8, 3, padding: 1);

        public Block() : base(nameof(Block)) => RegisterComponents();

        public override Tensor forward(Tensor input) => conv2.call(bn1.call(conv1.call(input)).relu());
    }
}
