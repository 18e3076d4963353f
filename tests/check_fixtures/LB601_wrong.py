# LB601: KL divergence with reduction="mean" (also the default).
import torch.nn.functional as F
from torch import nn

kl = nn.KLDivLoss()


def distillation(student_logits, teacher_logits, T):
    soft = F.kl_div(F.log_softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T, dim=1),
                    reduction="mean")
    return soft * T * T + kl(F.log_softmax(student_logits, dim=1), F.softmax(teacher_logits, dim=1))
