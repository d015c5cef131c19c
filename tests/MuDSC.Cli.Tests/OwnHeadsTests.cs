using MuDSC.IO;
using MuDSC.Experiments.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MuDSC.Cli.Tests;

/// <summary>`compare --merge-set --cut --head-classes`: plain classifiers whose heads answer for different labels, each keeping its own head.</summary>
public class OwnHeadsTests : TempFolderTests
{
    private static readonly int[][] Heads = [[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]];

    /// <summary>A base model alone: its head answers only for its labels, so Joint and its task are both "label = its classes[argmax]", computed here directly.</summary>
    [Test]
    public void BaseRowsAreEachHeadsOwnAccuracyAndPartialMergesAreScoredPerHead()
    {
        var generator = new Generator(5);
        using var inputs = torch.randn(new long[] { 60, 1, 28, 28 }, generator: generator);
        using var labels = torch.randint(0, 10, new long[] { 60 }, generator: generator);
        SafeTensorsFile.Write(InFolder("set.safetensors"), [new("inputs", inputs), new("labels", labels)]);
        var expected = new List<(double Joint, double Task)>();
        var probabilities = new double[60, 10]; // the ensemble's scores: each head's softmax at its own labels (disjoint here)
        for (int i = 0; i < 2; i++)
        {
            torch.manual_seed(i + 1);
            using var model = ModelCatalog.Instance.Create(new ModelSpec("resnet20gn", EmbedDim: 5), torch.CPU); // GroupNorm: no statistics to reset
            SafeTensorsFile.Write(InFolder($"m{i}.safetensors"), model.state_dict());
            using var noGrad = torch.no_grad();
            using var logits = model.call(inputs);
            var argmax = logits.argmax(1).data<long>().ToArray();
            var values = logits.data<float>().ToArray();
            for (int k = 0; k < 60; k++)
            {
                var row = values.Skip(5 * k).Take(5).Select(v => (double)v).ToArray();
                double max = row.Max(), sum = row.Sum(v => Math.Exp(v - max));
                for (int j = 0; j < 5; j++) probabilities[k, Heads[i][j]] = Math.Exp(row[j] - max) / sum;
            }
            var truth = labels.data<long>().ToArray();
            int joint = 0, mine = 0, right = 0;
            for (int k = 0; k < truth.Length; k++)
            {
                bool correct = Heads[i][argmax[k]] == truth[k];
                joint += correct ? 1 : 0;
                if (Heads[i].Contains((int)truth[k])) { mine++; right += correct ? 1 : 0; }
            }
            expected.Add(((double)joint / truth.Length, (double)right / mine));
        }
        string csv = InFolder("rows.csv");
        var (code, error) = StandardError.Capture(() => Entry.Run(["compare", InFolder("m0.safetensors"), InFolder("m1.safetensors"), "--merge-set", InFolder("set.safetensors"),
            "--arch", "resnet20gn", "--cut", "AfterLayer3,full", "--methods", "zipit", "--head-classes", "0,2,4,6,8;1,3,5,7,9", "--csv", csv]));
        Assert.That(code, Is.Zero, error);
        var rows = File.ReadAllLines(csv).Skip(1).Select(l => l.Split(',')).ToDictionary(r => r[0] == "-" ? r[1] : $"{r[1]} ({r[0]})"); // cut,model,joint,avg,task_a,task_b,...
        double Cell(string row, int column) => double.Parse(rows[row][column], System.Globalization.CultureInfo.InvariantCulture) / 100;
        Assert.That(Cell("m0", 2), Is.EqualTo(expected[0].Joint).Within(1e-6));
        Assert.That(Cell("m0", 4), Is.EqualTo(expected[0].Task).Within(1e-6));
        Assert.That(Cell("m1", 2), Is.EqualTo(expected[1].Joint).Within(1e-6));
        Assert.That(Cell("m1", 5), Is.EqualTo(expected[1].Task).Within(1e-6));
        var truthAll = labels.data<long>().ToArray();
        double ensembleJoint = Enumerable.Range(0, 60).Count(k => Enumerable.Range(0, 10).MaxBy(c => probabilities[k, c]) == truthAll[k]) / 60.0;
        Assert.That(Cell("ensemble", 2), Is.EqualTo(ensembleJoint).Within(1e-6));
        Assert.That(Cell("ensemble", 4), Is.EqualTo(expected[0].Task).Within(1e-6), "the ensemble's task A is model 0's head on its labels");
        Assert.That(rows.Keys, Does.Contain("zipit (AfterLayer3)").And.Contain("ensemble"));
        Assert.That(rows.Keys.Any(k => k.Contains("(full)")), Is.False, "one head cannot answer for two label sets");
    }

    /// <summary>
    /// `merge --cut --merge-set` writes the partial merge as a plain state dict; `predict --arch` reads it back, and its
    /// branches' logits, scored here by the multi-head formula, give the Joint that `compare` reports for the same merge.
    /// </summary>
    /// <summary>Heads of one size, or of 5 and 3 outputs (the narrower branch's logits are padded with -inf).</summary>
    [TestCase("0,2,4,6,8;1,3,5,7,9")]
    [TestCase("0,2,4,6,8;1,3,9")]
    public void APartialMergeOfPlainStateDictsIsWrittenAndPredictsWhatCompareScored(string headClasses)
    {
        var heads = headClasses.Split(';').Select(h => h.Split(',').Select(int.Parse).ToArray()).ToArray();
        var generator = new Generator(9);
        using var inputs = torch.randn(new long[] { 40, 1, 28, 28 }, generator: generator);
        using var labels = torch.randint(0, 10, new long[] { 40 }, generator: generator);
        SafeTensorsFile.Write(InFolder("set.safetensors"), [new("inputs", inputs), new("labels", labels)]);
        for (int i = 0; i < 2; i++)
        {
            torch.manual_seed(i + 11);
            using var model = ModelCatalog.Instance.Create(new ModelSpec("resnet20gn", EmbedDim: heads[i].Length), torch.CPU);
            SafeTensorsFile.Write(InFolder($"m{i}.safetensors"), model.state_dict());
        }
        string[] common = ["--merge-set", InFolder("set.safetensors"), "--arch", "resnet20gn", "--cut", "AfterLayer2", "--head-classes", headClasses];
        string partial = InFolder("partial.safetensors"), csv = InFolder("rows.csv");
        var (code, error) = StandardError.Capture(() => Entry.Run(["merge", InFolder("m0.safetensors"), InFolder("m1.safetensors"), "--method", "zipit", "--out", partial, .. common]));
        Assert.That(code, Is.Zero, error);
        (code, error) = StandardError.Capture(() => Entry.Run(["compare", InFolder("m0.safetensors"), InFolder("m1.safetensors"), "--methods", "zipit", "--csv", csv, .. common]));
        Assert.That(code, Is.Zero, error);
        using (var file = SafeTensorsFile.Read(partial))
        {
            Assert.That(file.Metadata.ContainsKey("arch"), Is.False, "a plain state dict, read back with --arch");
            Assert.That(file.Metadata["cut"], Is.EqualTo("AfterLayer2"));
            Assert.That(file.Metadata["head_classes"], Is.EqualTo(headClasses));
        }

        string logitsPath = InFolder("logits.safetensors");
        (code, error) = StandardError.Capture(() => Entry.Run(["predict", partial, "--arch", "resnet20gn", "--inputs", InFolder("set.safetensors"), "--out", logitsPath]));
        Assert.That(code, Is.Zero, error);
        using var predicted = SafeTensorsFile.Read(logitsPath);
        var logits = predicted.Tensors["logits"];
        int width = heads.Max(h => h.Length);
        Assert.That(logits.shape, Is.EqualTo(new long[] { 2, 40, width }));
        var values = logits.data<float>().ToArray();
        var truth = labels.data<long>().ToArray();
        int correct = 0;
        for (int k = 0; k < 40; k++)
        {
            var score = Enumerable.Repeat(-1.0, 10).ToArray();
            for (int head = 0; head < 2; head++)
            {
                int count = heads[head].Length;
                var row = Enumerable.Range(0, width).Select(j => (double)values[(head * 40 + k) * width + j]).ToArray();
                Assert.That(row.Skip(count), Is.All.EqualTo(double.NegativeInfinity), "a narrower head's outputs are padded");
                double max = row.Take(count).Max(), sum = row.Take(count).Sum(v => Math.Exp(v - max));
                for (int j = 0; j < count; j++) score[heads[head][j]] = Math.Max(score[heads[head][j]], Math.Exp(row[j] - max) / sum);
            }
            correct += Enumerable.Range(0, 10).MaxBy(c => score[c]) == truth[k] ? 1 : 0;
        }
        var rows = File.ReadAllLines(csv).Skip(1).Select(l => l.Split(',')).ToDictionary(r => r[0] == "-" ? r[1] : $"{r[1]} ({r[0]})"); // cut,model,joint,avg,task_a,task_b,...
        Assert.That(double.Parse(rows["zipit (AfterLayer2)"][2], System.Globalization.CultureInfo.InvariantCulture) / 100, Is.EqualTo(correct / 40.0).Within(1e-6));
    }

    [Test]
    public void HeadsOfDifferentSizesAreRefusedForAFullMergeNamingTheCut()
    {
        for (int i = 0; i < 2; i++)
        {
            using var model = ModelCatalog.Instance.Create(new ModelSpec("resnet20gn", EmbedDim: 5 - 2 * i), torch.CPU);
            SafeTensorsFile.Write(InFolder($"m{i}.safetensors"), model.state_dict());
        }
        var generator = new Generator(2);
        SafeTensorsFile.Write(InFolder("set.safetensors"), [new("inputs", torch.randn(new long[] { 8, 1, 28, 28 }, generator: generator))]);
        string output = InFolder("merged.safetensors");
        var (code, error) = StandardError.Capture(() => Entry.Run(["merge", InFolder("m0.safetensors"), InFolder("m1.safetensors"), "--merge-set", InFolder("set.safetensors"),
            "--arch", "resnet20gn", "--method", "zipit", "--out", output]));
        Assert.That(code, Is.Not.Zero);
        Assert.That(error, Does.Contain("3 outputs").And.Contain("5 outputs").And.Contain("--cut"));
        Assert.That(File.Exists(output), Is.False);
    }

    [Test]
    public void HeadClassesThatDoNotFitTheHeadsAreRefused()
    {
        for (int i = 0; i < 2; i++)
        {
            using var model = ModelCatalog.Instance.Create(new ModelSpec("resnet20gn", EmbedDim: 5), torch.CPU);
            SafeTensorsFile.Write(InFolder($"m{i}.safetensors"), model.state_dict());
        }
        var generator = new Generator(1);
        SafeTensorsFile.Write(InFolder("set.safetensors"), [new("inputs", torch.randn(new long[] { 8, 1, 28, 28 }, generator: generator)),
            new("labels", torch.randint(0, 10, new long[] { 8 }, generator: generator))]);
        string[] Args(string heads) => ["compare", InFolder("m0.safetensors"), InFolder("m1.safetensors"), "--merge-set", InFolder("set.safetensors"),
            "--arch", "resnet20gn", "--cut", "AfterLayer3", "--head-classes", heads];
        var (code, error) = StandardError.Capture(() => Entry.Run(Args("0,2,4,6;1,3,5,7,9")));
        Assert.That(code, Is.EqualTo(2), error);
        Assert.That(error, Does.Contain("list 1 has 4 labels, but").And.Contain("head has 5 outputs"));
        (code, error) = StandardError.Capture(() => Entry.Run(Args("0,2,4,6,8")));
        Assert.That(code, Is.EqualTo(2), error);
        Assert.That(error, Does.Contain("gives 1 label lists for 2 models"));
        (code, error) = StandardError.Capture(() => Entry.Run(Args("0,2,x,6,8;1,3,5,7,9")));
        Assert.That(code, Is.EqualTo(2), error);
        Assert.That(error, Does.Contain("--head-classes '0,2,x,6,8;1,3,5,7,9'"));
        var present = torch.randint(0, 10, new long[] { 8 }, generator: new Generator(1)).data<long>().ToHashSet(); // the set's labels, drawn again
        int absent = Enumerable.Range(0, 10).First(c => !present.Contains(c));
        var second = Enumerable.Range(0, 10).Where(c => c != absent).Take(5).ToList();
        (code, error) = StandardError.Capture(() => Entry.Run(Args($"{string.Join(",", second.Take(4).Append(absent))};{string.Join(",", second)}")));
        Assert.That(code, Is.EqualTo(2), error);
        Assert.That(error, Does.Contain($"list 1 names label {absent}, which").And.Contain("'labels' never holds"));
    }
}
